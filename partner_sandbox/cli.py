"""The `partner-sandbox` command: serve the sandbox, mint a token."""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings
from dataclasses import replace
from pathlib import Path

from .fixtures import FixtureError, load_world
from .resources import default_fixtures_path
from .settings import WORKER_SETTINGS, add_serve_arguments, settings_from_args


def _serve(args: argparse.Namespace) -> int:
    # connexion imports starlette's test client, which warns about httpx; nothing to do with serving.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import uvicorn

    from .app import build_sandbox, configure_logging, create_app  # here: connexion is heavy for `token`

    settings = settings_from_args(args)
    configure_logging(settings.log_level)
    try:
        sandbox = build_sandbox(settings)
    except FixtureError as exc:
        print(f"partner-sandbox: bad fixture file, not starting:\n{exc}", file=sys.stderr)
        return 2
    print(
        f"partner-sandbox: serving on http://{settings.host}:{settings.port} (links on {settings.base_url}),"
        f" database {redact_url(settings.db)}, {settings.workers} worker(s)",
        file=sys.stderr,
        flush=True,
    )
    common = dict(host=settings.host, port=settings.port, access_log=False, log_level=settings.log_level)
    if settings.workers == 1:
        uvicorn.run(create_app(settings, sandbox), **common)
    else:
        # Each worker process builds its app from the same settings; the store was seeded above.
        sandbox.store.close()
        os.environ[WORKER_SETTINGS] = replace(settings, reset=False).to_json()
        uvicorn.run("partner_sandbox.app:worker_app", factory=True, workers=settings.workers, **common)
    return 0


def redact_url(db: str) -> str:
    """A database URL without its password, for printing."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", db)


def _token(args: argparse.Namespace) -> int:
    from .auth import Partner, mint_token

    try:
        world = load_world(args.fixtures)
    except FixtureError as exc:
        print(f"partner-sandbox: bad fixture file:\n{exc}", file=sys.stderr)
        return 2
    partner = world.partner(args.partner_id)
    if partner is None:
        known = ", ".join(p.id for p in world.partners)
        print(f"partner-sandbox: no partner '{args.partner_id}' in {args.fixtures} (known: {known})", file=sys.stderr)
        return 2
    print(mint_token(Partner(partner.id, partner.secret), ttl_seconds=args.ttl))
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="partner-sandbox", description="A stateful sandbox of the TimelinesAI Partner API.")
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the sandbox server")
    add_serve_arguments(serve)
    serve.set_defaults(run=_serve)

    token = commands.add_parser("token", help="print a valid JWT for a fixture partner")
    token.add_argument("--partner-id", default="sandbox-partner")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until the token expires (default: %(default)s)")
    token.add_argument("--fixtures", type=Path, default=default_fixtures_path())
    token.set_defaults(run=_token)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

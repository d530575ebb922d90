"""The `partner-sandbox` command: serve the sandbox, mint a token."""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import re
import signal
import sys
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import __version__
from .fixtures import FixtureError, load_world
from .resources import default_fixtures_path
from .settings import WORKER_SETTINGS, add_serve_arguments, settings_from_args


GRACEFUL_SHUTDOWN_SECONDS = 20
QA_EXTRA = "partner-sandbox[qa]"
# The commands for QA and spec authors, and the modules of the `qa` extra each one needs.
QA_TOOLS = {"contract-test": ["schemathesis"], "lint": ["openapi_spec_validator", "openapi_schema_validator"]}


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .bootstrap import build_sandbox, configure_logging  # no web stack: the parent of workers needs none
    from .web.protocol import SandboxHttpToolsProtocol

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
    # SIGTERM drains: uvicorn stops accepting, lets requests in flight finish, then exits; this
    # bounds the wait for them.
    # The protocol is ours (web/protocol.py: upgrades ignored with the body kept, its own errors in the
    # envelope); no websockets; forwarded headers are read by the guard, from trusted proxies only.
    common: dict[str, Any] = dict(  # noqa: C408
                  host=settings.host, port=settings.port, access_log=False, log_level=settings.log_level,
                  timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS, http=SandboxHttpToolsProtocol, ws="none",
                  proxy_headers=False)
    # The settings of every server process (the protocol reads its limits there); workers build
    # their app from them. The store was seeded above.
    os.environ[WORKER_SETTINGS] = replace(settings, reset=False).to_json()
    # uvicorn re-raises a SIGTERM it drained on: with this handler the drained server then exits 0,
    # as process managers expect, instead of dying of the signal (143).
    signal.signal(signal.SIGTERM, lambda *_: None)
    if settings.workers == 1:
        from .web.app import create_app

        uvicorn.run(create_app(settings, sandbox), **common)
    else:
        sandbox.store.close()
        del sandbox  # the parent only supervises its workers
        gc.collect()
        uvicorn.run("partner_sandbox.web.app:worker_app", factory=True, workers=settings.workers, **common)
    return 0


def redact_url(db: str) -> str:
    """A database URL without its password, for printing."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", db)


def _fixture_partner(fixtures: Path, partner_id: str):
    """The fixture partner (id and secret) to sign tokens as; None, said on stderr, if there is none."""
    from .auth import Partner

    try:
        world = load_world(fixtures)
    except FixtureError as exc:
        print(f"partner-sandbox: bad fixture file:\n{exc}", file=sys.stderr)
        return None
    partner = world.partner(partner_id)
    if partner is None:
        known = ", ".join(p.id for p in world.partners)
        print(f"partner-sandbox: no partner '{partner_id}' in {fixtures} (known: {known})", file=sys.stderr)
        return None
    return Partner(partner.id, partner.secret)


def _token(args: argparse.Namespace) -> int:
    from .auth import mint_token

    partner = _fixture_partner(args.fixtures, args.partner_id)
    if partner is None:
        return 2
    print(mint_token(partner, ttl_seconds=args.ttl))
    return 0


def _subject(delivery: dict) -> str:
    """What an event is about: `workspace/user`, or the workspace alone for its own events."""
    user = delivery["user_id"]
    return delivery["workspace_id"] if user is None else f"{delivery['workspace_id']}/{user}"


def _webhooks(args: argparse.Namespace) -> int:
    """Tail the caller's webhook delivery log: a line per attempt, as they happen."""
    import time

    import httpx

    from .auth import mint_token

    partner = _fixture_partner(args.fixtures, args.partner_id)
    if partner is None:
        return 2
    url = args.base_url.rstrip("/") + "/sandbox/v1/webhook/deliveries"
    shown: dict[int, int] = {}  # delivery id -> attempts printed
    deadline = time.monotonic() + args.seconds if args.seconds else None
    print(f"watching webhook deliveries of {partner.id} at {args.base_url} (Ctrl-C stops)", flush=True)
    while deadline is None or time.monotonic() < deadline:
        token = mint_token(partner, ttl_seconds=300)
        try:
            response = httpx.get(url, params={"limit": 200}, timeout=10,
                                 headers={"Authorization": f"Bearer {token}", "X-TL-Partner-Id": partner.id})
            response.raise_for_status()
        except httpx.HTTPError as exc:
            print(f"partner-sandbox: cannot read {url}: {exc}", file=sys.stderr, flush=True)
            time.sleep(args.interval)
            continue
        for delivery in reversed(response.json()["deliveries"]):
            first = delivery["id"] not in shown
            for number, attempt in enumerate(delivery["attempts"], start=1):
                if number <= shown.get(delivery["id"], 0):
                    continue
                result = f"HTTP {attempt['status_code']}" if attempt["error"] is None else attempt["error"]
                after = ""
                if number == len(delivery["attempts"]):
                    after = {"delivered": " delivered", "failed": " failed: no attempts left"}.get(
                        delivery["status"], f" retry at {delivery['next_retry_at']}")
                print(f"{attempt['at']}  #{delivery['id']} {delivery['event_type']}  {_subject(delivery)}"
                      f"  attempt {number}: {result} ({attempt['latency_ms']} ms){after}", flush=True)
            if first and not delivery["attempts"]:
                print(f"{delivery['created_at']}  #{delivery['id']} {delivery['event_type']}  "
                      f"{_subject(delivery)}  queued", flush=True)
            shown[delivery["id"]] = len(delivery["attempts"])
        time.sleep(args.interval)
    return 0


def _with_qa_tools(command: str, run):
    """`run`, once the modules the command needs are installed; otherwise one line naming the extra, exit 2."""

    def checked(args: argparse.Namespace) -> int:
        missing = [m for m in QA_TOOLS[command] if importlib.util.find_spec(m) is None]
        if missing:
            print(f"partner-sandbox {command} needs the QA tools ({', '.join(missing)} missing):"
                  f" pip install '{QA_EXTRA}'", file=sys.stderr)
            return 2
        return run(args)

    return checked


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="partner-sandbox", description="A stateful sandbox of the TimelinesAI Partner API.")
    top.add_argument("--version", action="version", version=f"partner-sandbox {__version__}")
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the sandbox server")
    add_serve_arguments(serve)
    serve.set_defaults(run=_serve)

    token = commands.add_parser("token", help="print a valid JWT for a fixture partner")
    token.add_argument("--partner-id", default="sandbox-partner")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until the token expires (default: %(default)s)")
    token.add_argument("--fixtures", type=Path, default=default_fixtures_path())
    token.set_defaults(run=_token)

    hooks = commands.add_parser("webhooks", help="print webhook deliveries as they happen (a tail of the log)")
    hooks.add_argument("--base-url", default="http://127.0.0.1:8080", help="the sandbox (default: %(default)s)")
    hooks.add_argument("--partner-id", default="sandbox-partner")
    hooks.add_argument("--fixtures", type=Path, default=default_fixtures_path(), help="where the partner's secret is")
    hooks.add_argument("--interval", type=float, default=1.0, help="seconds between looks (default: %(default)s)")
    hooks.add_argument("--seconds", type=float, default=0, help="stop after this long (default: run until stopped)")
    hooks.set_defaults(run=_webhooks)

    from .qa import contract

    from .qa import lint

    from .qa import specdiff

    ct = commands.add_parser("contract-test", help="fuzz any server implementing the spec (schemathesis)")
    contract.add_arguments(ct)
    ct.set_defaults(run=_with_qa_tools("contract-test", contract.run))

    lt = commands.add_parser("lint", help="check specs and fixtures as the server uses them (file:line: message)")
    lint.add_arguments(lt)
    lt.set_defaults(run=_with_qa_tools("lint", lint.run))

    df = commands.add_parser("diff", help="the breaking changes between two versions of a spec")
    specdiff.add_arguments(df)
    df.set_defaults(run=specdiff.run)
    return top


def main(argv: list[str] | None = None) -> int:
    # connexion imports starlette's test client, which warns about httpx; nothing to do with us.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())

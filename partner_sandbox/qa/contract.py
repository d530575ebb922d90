"""`partner-sandbox contract-test`: schemathesis against any implementation of the spec (this
sandbox, the real service, a partner's own mock), with fresh JWTs and a guard for real accounts."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ..resources import spec_path

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "ignored_auth",
    # Stateful: schemathesis applies it along the spec's links (workspaceCreate -> workspaceGet,
    # workspaceCreateUsers -> userRequestQRLink, ...). object_level_authorization is left out: it
    # needs the credentials of two partners sharing resources, which this API does not have.
    "use_after_free",
]


def is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", required=True, help="the server's origin, e.g. http://127.0.0.1:8080")
    parser.add_argument("--partner-id", help="the partner (required but with --public-api-token)")
    parser.add_argument("--secret", help="the partner's secret, to sign a fresh JWT per request")
    parser.add_argument("--public-api-token",
                        help="a workspace's Public API token: test the Public API's spec (public_api.yaml) with it")
    parser.add_argument("--spec", type=Path, default=spec_path(), help="the spec (default: the packaged openapi.yaml)")
    parser.add_argument("--workspace-id", action="append", default=[], help="a workspace of the partner (repeatable)")
    parser.add_argument("--user-id", action="append", type=int, default=[],
                        help="a user of the workspace given at the same place (repeatable)")
    parser.add_argument("--max-examples", type=int, default=100, help="cases per operation and phase (default: %(default)s)")
    parser.add_argument("--junit-xml", type=Path, help="write a JUnit XML report here")
    parser.add_argument("--seed", type=int, help="random seed, to repeat a run")
    parser.add_argument("--allow-destructive", action="store_true",
                        help="test a server that is not on loopback (a hosted sandbox, or the real service)")


def run(args: argparse.Namespace) -> int:
    host = urlsplit(args.base_url).hostname
    # Decided before anything is sent: the refusal never contacts the server.
    if not is_loopback(host) and not args.allow_destructive:
        print(
            f"partner-sandbox: refusing to test {args.base_url}: it is not on this machine. Issuing a QR link"
            " disconnects the user's WhatsApp account, so a contract test against the real service disconnects"
            " real accounts. If it is a hosted sandbox, or you mean it, pass --allow-destructive.",
            file=sys.stderr,
        )
        return 2
    if not args.public_api_token and not (args.partner_id and args.secret):
        print("partner-sandbox: give --partner-id and --secret (or --public-api-token for the Public API)",
              file=sys.stderr)
        return 2
    if len(args.workspace_id) != len(args.user_id):
        print("partner-sandbox: give --workspace-id and --user-id in pairs", file=sys.stderr)
        return 2
    spec = yaml.safe_load(args.spec.read_text())
    base_path = (spec.get("servers") or [{"url": ""}])[0]["url"]
    cmd = [
        str(Path(sys.executable).with_name("st")), "run", str(args.spec),
        "--url", args.base_url.rstrip("/") + base_path,
        "--phases", "examples,coverage,fuzzing,stateful",
        "--checks", ",".join(CHECKS),
        "--max-examples", str(args.max_examples),
        "--workers", "1",
    ]
    if args.seed is not None:
        cmd += ["--seed", str(args.seed)]
    if args.junit_xml:
        cmd += ["--report", "junit", "--report-junit-path", str(args.junit_xml)]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "partner_sandbox.qa.st_hooks",
        "PARTNER_SANDBOX_CT_PARTNER_ID": args.partner_id or "",
        "PARTNER_SANDBOX_CT_SECRET": args.secret or "",
        "PARTNER_SANDBOX_CT_PINS": json.dumps(list(zip(args.workspace_id, args.user_id, strict=False))),
    }
    if args.public_api_token:
        env["PARTNER_SANDBOX_CT_PUBLIC_API_TOKEN"] = args.public_api_token
    print(f"partner-sandbox: contract test of {args.base_url} against {args.spec}", flush=True)
    # schemathesis prints progress, each failure with its check, the response and a curl command
    # (the Authorization value shown as [Filtered]), and a summary; its exit code is ours.
    return subprocess.run(cmd, env=env).returncode

"""Schemathesis fuzzes a running sandbox against openapi.yaml: examples, coverage, fuzzing and the
stateful phase, which follows the spec's links (create a workspace, then its users, their QR links...)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from partner_sandbox.qa import contract
from tests.helpers import DEFAULT_FIXTURES
from tests.servers import SandboxProcess

# The checks `partner-sandbox contract-test` runs, for QA against any server.
CHECKS = ",".join(contract.CHECKS)
# Cases per operation and phase: for the Partner API contract-test's own default, for the control API
# (the sandbox's own, fuzzed for faults rather than for a published contract) half of it; both can be
# raised (CONTRACT_MAX_EXAMPLES=300 CONTROL_MAX_EXAMPLES=300 for a deeper run, about 4 times as long).
MAX_EXAMPLES = {"/partner/api/v1/openapi.json": os.environ.get("CONTRACT_MAX_EXAMPLES", "100"),
                "/sandbox/v1/openapi.json": os.environ.get("CONTROL_MAX_EXAMPLES", "50")}


SPEC_URLS = ["/partner/api/v1/openapi.json", "/sandbox/v1/openapi.json"]


def fuzzed_server(tmp: Path) -> SandboxProcess:
    # Fuzzed webhook URLs point anywhere: deliveries stay on this machine, or are refused unsent.
    return SandboxProcess(tmp, db=":memory:", fixtures=DEFAULT_FIXTURES,
                          args=("--webhook-hosts", "127.0.0.1,localhost")).start()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Both APIs' runs, started together, each against a server of its own (the control API's
    fuzzing resets the partner's world, which the Partner API's stateful phase must not meet): one
    schemathesis process and one server never keep two cores busy, two do."""
    servers = {url: fuzzed_server(tmp_path_factory.mktemp("contract")) for url in SPEC_URLS}
    try:
        with ThreadPoolExecutor(max_workers=len(SPEC_URLS)) as pool:
            started = {}
            for url, server in servers.items():
                tmp = tmp_path_factory.mktemp("schemathesis")
                started[url] = (tmp, pool.submit(run_schemathesis, server, tmp, url))
            yield started
    finally:
        for server in servers.values():
            server.stop()


def run_schemathesis(server: SandboxProcess, tmp: Path, spec_url: str, *extra: str) -> subprocess.CompletedProcess:
    st = Path(sys.executable).with_name("st")
    # The hooks contract-test uses: a fresh partner JWT for every request.
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "partner_sandbox.qa.st_hooks"}
    cmd = [
        str(st), "run", server.base_url + spec_url,
        "--phases", "examples,coverage,fuzzing,stateful",
        "--checks", CHECKS,
        "--max-examples", MAX_EXAMPLES[spec_url],
        "--seed", "20261125",
        # One worker, as contract-test runs it: with two threads, hypothesis's description of a
        # lambda (its source parsed with ast) races on CPython 3.11 and schemathesis stops with a
        # KeyError or "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905).
        "--workers", "1",
        "--report", "junit", "--report-junit-path", str(tmp / "schemathesis.xml"),
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp, timeout=900)


@pytest.mark.parametrize("spec_url", SPEC_URLS)
def test_schemathesis_finds_no_failures(runs, spec_url):
    tmp_path, running = runs[spec_url]
    result = running.result()
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout or " passed" in result.stdout
    generated = int(re.search(r"(\d+) generated", result.stdout).group(1))
    assert generated >= int(MAX_EXAMPLES[spec_url]), result.stdout[-3000:]
    junit = (tmp_path / "schemathesis.xml").read_text()
    assert 'failures="0"' in junit and 'errors="0"' in junit

"""Schemathesis fuzzes a running sandbox against openapi.yaml: examples, coverage, fuzzing and the
stateful phase, which follows the spec's links (create a workspace, then its users, their QR links...)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from partner_sandbox.qa import contract
from tests.helpers import DEFAULT_FIXTURES
from tests.servers import SandboxProcess

# The checks `partner-sandbox contract-test` runs, for QA against any server.
CHECKS = ",".join(contract.CHECKS)
# Cases per operation and phase: contract-test's own default; CONTRACT_MAX_EXAMPLES=300 for a deeper
# run (the control API's run takes about 4 times as long as at 100: PUT /embedding-origins's arrays).
MAX_EXAMPLES = os.environ.get("CONTRACT_MAX_EXAMPLES", "100")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Fuzzed webhook URLs point anywhere: deliveries stay on this machine, or are refused unsent.
    s = SandboxProcess(tmp_path_factory.mktemp("contract"), db=":memory:", fixtures=DEFAULT_FIXTURES,
                       args=("--webhook-hosts", "127.0.0.1,localhost")).start()
    yield s
    s.stop()


def run_schemathesis(server: SandboxProcess, tmp: Path, spec_url: str, *extra: str) -> subprocess.CompletedProcess:
    st = Path(sys.executable).with_name("st")
    # The hooks contract-test uses: a fresh partner JWT for every request.
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "partner_sandbox.qa.st_hooks"}
    cmd = [
        str(st), "run", server.base_url + spec_url,
        "--phases", "examples,coverage,fuzzing,stateful",
        "--checks", CHECKS,
        "--max-examples", MAX_EXAMPLES,
        "--seed", "20261125",
        # One worker, as contract-test runs it: with two threads, hypothesis's description of a
        # lambda (its source parsed with ast) races on CPython 3.11 and schemathesis stops with a
        # KeyError or "SystemError: AST constructor recursion depth mismatch" (CPython gh-106905).
        "--workers", "1",
        "--report", "junit", "--report-junit-path", str(tmp / "schemathesis.xml"),
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp, timeout=900)


@pytest.mark.parametrize("spec_url", ["/partner/api/v1/openapi.json", "/sandbox/v1/openapi.json"])
def test_schemathesis_finds_no_failures(server, tmp_path, spec_url):
    result = run_schemathesis(server, tmp_path, spec_url)
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout or " passed" in result.stdout
    generated = int(re.search(r"(\d+) generated", result.stdout).group(1))
    assert generated >= 100, result.stdout[-3000:]
    junit = (tmp_path / "schemathesis.xml").read_text()
    assert 'failures="0"' in junit and 'errors="0"' in junit

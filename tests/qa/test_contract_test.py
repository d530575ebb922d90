"""`partner-sandbox contract-test` passes against this sandbox and fails, naming the right check,
against deliberately wrong servers; it refuses a remote server without --allow-destructive."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from partner_sandbox.qa.server import ServerProcess
from tests.helpers import DEFAULT_FIXTURES, SECRETS, free_port
from tests.servers import SandboxProcess

HERE = Path(__file__).resolve().parent
# These tests are of the command (faults found and named, with a curl repro; its refusal), not of
# fuzzing depth (tests/contract's): 20 cases per operation and phase find each wrong server's fault
# (was 40, about 10 s more).
MAX_EXAMPLES = os.environ.get("CONTRACT_TEST_MAX_EXAMPLES", "20")


def contract_test(base_url: str, *extra: str, tmp_path: Path) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "partner_sandbox", "contract-test", "--base-url", base_url,
           "--partner-id", "sandbox-partner", "--secret", SECRETS["sandbox-partner"],
           "--max-examples", MAX_EXAMPLES, "--seed", "7", "--junit-xml", str(tmp_path / "report.xml"), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)  # its own run cache


def test_passes_against_the_sandbox(tmp_path):
    server = SandboxProcess(tmp_path, db=":memory:", fixtures=DEFAULT_FIXTURES).start()
    try:
        result = contract_test(server.base_url, "--workspace-id", "my-first-workspace", "--user-id", "45",
                               tmp_path=tmp_path)
    finally:
        server.stop()
    assert result.returncode == 0, result.stdout[-4000:]
    assert "No issues found" in result.stdout or "passed" in result.stdout
    report = (tmp_path / "report.xml").read_text()
    assert "<testsuite" in report and 'failures="0"' in report
    # the pinned user was really reached: the sandbox journal would show it, and so does its state
    # (a 200 for my-first-workspace/45 means a link was issued there)


@pytest.mark.parametrize(
    "mode, check",
    [
        ("wrong-type", "Response violates schema"),
        ("no-auth", "API accepts requests without authentication"),
        ("boundary", "Server error"),
    ],
)
def test_fails_naming_the_check_against_a_wrong_server(tmp_path, mode, check):
    port = free_port()
    # Ready when it answers anything at all (it has no /healthz).
    server = ServerProcess([sys.executable, str(HERE / "wrong_server.py"), str(port), mode], port=port, health="/",
                           ready_status=None, log=tmp_path / "wrong-server.log", name="wrong server")
    try:
        server.start(timeout=10)
        result = contract_test(server.base_url, "--workspace-id", "w", "--user-id", "1", tmp_path=tmp_path)
    finally:
        server.kill9()
    assert result.returncode == 1, result.stdout[-3000:]
    assert check in result.stdout, result.stdout[-4000:]
    assert "curl -X POST" in result.stdout  # a repro for each failure
    if mode != "no-auth":  # (that one's repro has no token at all)
        assert "Authorization: [Filtered]" in result.stdout and SECRETS["sandbox-partner"] not in result.stdout
    assert "failures=\"0\"" not in (tmp_path / "report.xml").read_text()


def test_refuses_a_remote_server_before_contacting_it(tmp_path):
    # 192.0.2.0/24 is TEST-NET-1; the command refuses before sending anything anywhere.
    result = contract_test("http://192.0.2.10:8080", tmp_path=tmp_path)
    assert result.returncode == 2
    assert "disconnects the user's WhatsApp account" in result.stderr and "--allow-destructive" in result.stderr
    assert not (tmp_path / "report.xml").exists()

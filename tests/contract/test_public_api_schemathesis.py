"""`partner-sandbox contract-test` (schemathesis) against the Public API slice, public_api.yaml:
examples, coverage and fuzzing with the workspace's Public API token, the same checks as the Partner
API's run, zero failures."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx

from tests.helpers import ROOT, auth_headers
from tests.servers import SandboxProcess

# Cases per operation and phase; PUBLIC_MAX_EXAMPLES=300 for a deeper run.
MAX_EXAMPLES = os.environ.get("PUBLIC_MAX_EXAMPLES", "100")
WORLD = ROOT / "tests" / "fixtures" / "public_api_contract.yaml"


def test_schemathesis_finds_no_failures_in_the_public_api(tmp_path):
    server = SandboxProcess(tmp_path, db=":memory:", fixtures=WORLD).start()
    try:
        token = httpx.get(server.base_url + "/partner/api/v1/workspaces/fuzzed-workspace/api-token",
                          headers=auth_headers(), timeout=30).json()["token"]
        junit = tmp_path / "schemathesis.xml"
        result = subprocess.run(
            [sys.executable, "-m", "partner_sandbox", "contract-test", "--base-url", server.base_url,
             "--spec", str(ROOT / "public_api.yaml"), "--public-api-token", token,
             "--max-examples", MAX_EXAMPLES, "--seed", "20261203", "--junit-xml", str(junit)],
            capture_output=True, text=True, cwd=tmp_path, timeout=900)
        output = server.output()
    finally:
        server.stop()
    print(result.stdout[-6000:])
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    generated = int(re.search(r"(\d+) generated", result.stdout).group(1))
    assert generated >= int(MAX_EXAMPLES), result.stdout[-3000:]
    report = junit.read_text()
    assert 'failures="0"' in report and 'errors="0"' in report
    assert token not in output and token not in result.stdout  # the token is never logged, nor shown

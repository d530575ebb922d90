"""The QA tools cover the Public API's spec, public_api.yaml: lint passes it (its handlers found by
the tag convention), diff finds a breaking change in it, contract-test takes a Public API token."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT

PUBLIC = ROOT / "public_api.yaml"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "partner_sandbox", *args], capture_output=True, text=True, timeout=120)


def test_lint_passes_the_public_api_spec_and_finds_a_missing_handler(tmp_path):
    result = run("lint", str(PUBLIC))
    assert result.returncode == 0 and result.stdout.startswith("ok: "), result.stdout
    broken = tmp_path / "public_api.yaml"
    broken.write_text(PUBLIC.read_text().replace("operationId: getTeammates", "operationId: getTeammate"))
    result = run("lint", str(broken))
    assert result.returncode == 1
    assert "no handler get_teammate in partner_sandbox.handlers.public_workspace" in result.stdout


def test_diff_finds_a_removed_required_field_of_the_public_api(tmp_path):
    assert run("diff", str(PUBLIC), str(PUBLIC)).returncode == 0
    changed = tmp_path / "public_api.yaml"
    changed.write_text(PUBLIC.read_text().replace("        - message_uid\n      properties:\n        message_uid:\n"
                                                  "          type: string\n",
                                                  "      properties:\n        message_uid:\n          type: integer\n"))
    result = run("diff", str(PUBLIC), str(changed))
    assert result.returncode == 1, result.stdout
    assert "message_uid" in result.stdout


def test_contract_test_needs_a_partner_or_a_public_api_token():
    result = run("contract-test", "--base-url", "http://127.0.0.1:9", "--spec", str(PUBLIC))
    assert result.returncode == 2 and "--public-api-token" in result.stderr

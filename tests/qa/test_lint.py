"""`partner-sandbox lint`: the project's own specs and fixtures pass; each kind of mistake is
reported as file:line: message with a non-zero exit."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import ROOT


def lint(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "partner_sandbox", "lint", *args], capture_output=True, text=True,
                          timeout=120)


def test_the_projects_specs_and_fixtures_pass():
    result = lint(str(ROOT / "openapi.yaml"), str(ROOT / "sandbox.yaml"), str(ROOT / "webhooks.yaml"),
                  str(ROOT / "public_api.yaml"))
    assert result.returncode == 0, result.stdout
    assert result.stdout.startswith("ok: ") and result.stderr == ""


def test_each_mistake_is_reported_with_file_and_line(tmp_path):
    text = (ROOT / "openapi.yaml").read_text()
    broken = text.replace("value: {expires_in_hours: 168}", "value: {expires_in_hours: 200}").replace(
        "operationId: userRequestQRLink", "operationId: userRequestQRCode")
    spec = tmp_path / "openapi.yaml"
    spec.write_text(broken)
    fixtures = tmp_path / "world.yaml"
    fixtures.write_text("partners:\n  - id: p\n    secret: short\n    workspaces: []\n")
    result = lint(str(spec), "--fixtures", str(fixtures))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    example_line = broken.splitlines().index("                value: {expires_in_hours: 200}") + 1
    assert f"{spec}:{example_line}: example does not fit its schema: 200 is greater than the maximum of 168" in lines
    op_line = broken.splitlines().index("      operationId: userRequestQRCode") + 1
    assert f"{spec}:{op_line}: operationId userRequestQRCode: no handler user_request_qr_code in partner_sandbox.handlers.qr" in lines
    assert f"{fixtures}:3: partners[0].secret: 'short' is too short" in lines
    assert lines[-1].startswith("3 error(s)")


def test_an_operation_whose_tag_names_no_handler_module_is_reported(tmp_path):
    text = (ROOT / "openapi.yaml").read_text()
    spec = tmp_path / "openapi.yaml"
    spec.write_text(text.replace("      tags: [qr]\n", "      tags: [qrCodes]\n"))
    result = lint(str(spec))
    assert result.returncode == 1
    assert "operationId userRequestQRLink: cannot import partner_sandbox.handlers.qr_codes" in result.stdout


def test_an_invalid_openapi_document_is_reported(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("openapi: 3.0.3\ninfo:\n  title: x\npaths: {}\n")  # info.version is missing
    result = lint(str(spec))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{spec}:") and "not a valid OpenAPI document" in result.stdout


def test_an_example_is_held_to_its_pattern_as_the_server_reads_it(tmp_path):
    """ECMA-262's `$` is the end of the text: an example with a final newline does not fit."""
    text = (ROOT / "openapi.yaml").read_text()
    spec = tmp_path / "openapi.yaml"
    spec.write_text(text.replace("              display_name: my-first-workspace\n",
                                 '              display_name: "my-first-workspace\\n"\n', 1))
    result = lint(str(spec))
    assert result.returncode == 1, result.stdout
    assert "example does not fit its schema: 'my-first-workspace\\n' does not match" in result.stdout, result.stdout

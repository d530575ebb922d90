"""`partner-sandbox diff`: breaking changes between pairs of small specs kept in tests/specs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT

SPECS = ROOT / "tests" / "specs"
BODY = "#/paths/~1items/post/requestBody/content/application~1json/schema/properties"
ITEM = "#/paths/~1items~1{item_id}/get/responses/200/content/application~1json/schema/properties"


def diff(old, new) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "partner_sandbox", "diff", str(old), str(new)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "variant, expected",
    [
        ("removed-operation", "clients  #/paths/~1items/post: operation POST /items removed"),
        ("removed-response", "clients  #/paths/~1items~1{item_id}/get/responses/404: response 404 removed"),
        ("removed-response-field", f"clients  {ITEM}/name: response field 'name' removed"),
        ("new-required-parameter",
         "clients  #/paths/~1items~1{item_id}/get/parameters/2: new required header parameter 'tenant'"),
        ("new-required-field", f"clients  {BODY}/owner: new required request field 'owner'"),
        ("narrowed-range", f"clients  {BODY}/size/maximum: maximum lowered: 10 -> 5"),
        ("narrowed-enum", f"clients  {BODY}/colour/enum: enum values removed"),
        ("changed-type", f"both     {ITEM}/id/type: type changed from integer to string"),
        ("changed-security", "clients  #/paths/~1items/post/security: security requirements changed"),
    ],
)
def test_breaking_changes_are_found_with_their_pointer_and_exit_1(variant, expected):
    result = diff(SPECS / "base.yaml", SPECS / f"{variant}.yaml")
    assert result.returncode == 1, result.stdout
    assert expected in result.stdout.splitlines()


def test_compatible_changes_are_reported_and_exit_0():
    result = diff(SPECS / "base.yaml", SPECS / "compatible.yaml")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert f"servers  {BODY}/size/maximum: maximum relaxed: 10 -> 20" in lines
    assert f"neither  {ITEM}/created: new optional response field 'created'" in lines
    assert "servers  #/paths/~1health/get: operation GET /health added" in lines
    assert lines[-1] == "4 change(s), 0 breaking clients"


def test_the_same_spec_has_no_changes():
    result = diff(ROOT / "openapi.yaml", ROOT / "openapi.yaml")
    assert result.returncode == 0 and result.stdout.strip() == "no changes to the contract"


def test_narrowing_the_real_expiry_range_breaks_clients(tmp_path):
    narrowed = tmp_path / "openapi.yaml"
    narrowed.write_text((ROOT / "openapi.yaml").read_text().replace("maximum: 168", "maximum: 72"))
    result = diff(ROOT / "openapi.yaml", narrowed)
    assert result.returncode == 1
    assert ("clients  #/paths/~1workspaces~1{workspace_id}~1users~1{user_id}~1qr/post/requestBody/content/"
            "application~1json/schema/properties/expires_in_hours/maximum: maximum lowered: 168 -> 72") in result.stdout

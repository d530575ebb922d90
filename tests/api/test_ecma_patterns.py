"""Patterns mean what the spec means (ECMA-262): `$` matches only at the very end, so a value with a
final newline never passes a `^...$` pattern, on any validation path: connexion's validators, the
fast lane, the control API and the rules' own patterns."""

from __future__ import annotations

import pytest

from partner_sandbox import ecma
from tests.helpers import QR_PATH, assert_error, auth_headers, control


@pytest.mark.parametrize("name", ["Acme\n", "acme-store\n", "\nacme"])
def test_a_workspace_name_with_a_newline_is_refused(sandbox, name):
    r = sandbox.client.post("/partner/api/v1/workspaces", headers=auth_headers(),
                            json={"display_name": name, "seats_purchased": 1})
    assert "display_name" in assert_error(r, 400, "invalid_request")["description"]


def test_a_workspace_id_with_a_newline_is_not_a_workspace(sandbox):
    r = sandbox.client.get("/partner/api/v1/workspaces/my-first-workspace%0A", headers=auth_headers())
    assert r.status_code in (400, 404) and r.json()["error"] in ("invalid_request", "workspace_not_found", "not_found"), r.text


def test_the_fast_lane_route_takes_no_path_with_a_final_newline(sandbox):
    r = sandbox.client.post(QR_PATH.format(workspace="my-first-workspace", user=42) + "%0A", headers=auth_headers())
    assert_error(r, 404, "not_found")


def test_an_embedding_origin_with_a_newline_is_refused(sandbox):
    r = control(sandbox, "PUT", "/embedding-origins", json={"origins": ["http://x.com\n"]}, partner="other-partner")
    assert_error(r, 400, "invalid_request")
    assert "http://x.com\n" not in control(sandbox, "GET", "/embedding-origins", partner="other-partner").json()["origins"]


def test_a_pairing_code_with_a_newline_is_refused_by_the_control_api(sandbox):
    r = control(sandbox, "POST", "/workspaces/other-workspace/users/7008/pairing-code", json={"code": "12345678\n"},
                partner="other-partner")
    assert "code" in assert_error(r, 400, "invalid_request")["description"]


@pytest.mark.parametrize("pattern, text, matches", [
    ("^[a-z]+$", "acme", True),
    ("^[a-z]+$", "acme\n", False),
    (r"^a\$$", "a$", True),
    ("^[$a]+$", "a$a", True),
    ("^[$a]+$", "a$a\n", False),
    ("^(19[7-9][0-9]|[2-8][0-9]{3})-", "1999-\n", True),  # no end anchor: a prefix
])
def test_ecma_dollar_is_the_end_of_the_input(pattern, text, matches):
    assert bool(ecma.compile(pattern).search(text)) is matches

"""The control API (/sandbox/v1) over HTTP: user state, scan, test clock, reset, request journal."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

import pytest

from tests.helpers import assert_error, control, make_token


def state(server, workspace, user, partner="sandbox-partner"):
    r = control(server, "GET", f"/workspaces/{workspace}/users/{user}", partner=partner)
    assert r.status_code == 200, r.text
    return r.json()


def scan(server, workspace, user, partner="sandbox-partner"):
    return control(server, "POST", f"/workspaces/{workspace}/users/{user}/scan", partner=partner)


def set_clock(server, command, partner="sandbox-partner"):
    r = control(server, "POST", "/clock", json=command, partner=partner)
    assert r.status_code == 200, r.text
    return r.json()


def at(text):
    return datetime.fromisoformat(text)


@pytest.fixture
def server(start_app):
    """An in-process sandbox of the test's own: these tests move clocks, reset, fill the journal."""
    return start_app()


def test_fresh_user_state(server):
    s = state(server, "qa-workspace", 1)
    assert s["whatsapp"] == {"connected": False, "account_id": None, "phone_number_e164": None,
                             "connected_at": None, "disconnected_at": None}
    assert s["active_link"] is None and s["links"] == []


def test_issued_link_appears_as_active_and_the_earlier_as_revoked(server):
    server.issue("qa-workspace", 1)
    second = server.issue("qa-workspace", 1).json()
    s = state(server, "qa-workspace", 1)
    assert [link["state"] for link in s["links"]] == ["active", "revoked"]
    assert s["active_link"] == s["links"][0]
    assert s["active_link"]["expires_at"] == second["expires_at"]
    assert s["links"][1]["closed_at"] is not None


def test_scan_connects_a_stable_fake_account_and_uses_the_link(server):
    server.issue("qa-workspace", 2)
    r = scan(server, "qa-workspace", 2)
    assert r.status_code == 200, r.text
    after = r.json()
    account = after["whatsapp"]
    assert account["connected"] is True and account["phone_number_e164"].startswith("+")
    assert after["active_link"] is None and after["links"][0]["state"] == "used"

    reissued = server.issue("qa-workspace", 2).json()
    assert (reissued["whatsapp_disconnected"], reissued["previous_qr_revoked"]) == (True, False)
    s = state(server, "qa-workspace", 2)
    assert s["whatsapp"]["connected"] is False and s["whatsapp"]["disconnected_at"] is not None

    again = scan(server, "qa-workspace", 2).json()["whatsapp"]
    assert (again["phone_number_e164"], again["account_id"]) == (account["phone_number_e164"], account["account_id"])


def test_scan_without_an_active_link_is_409(server):
    r = scan(server, "qa-workspace", 3)
    assert_error(r, 409, "no_active_link")
    server.issue("qa-workspace", 3, json={"expires_in_hours": 1})
    set_clock(server, {"advance_seconds": 3600})
    r = scan(server, "qa-workspace", 3)
    assert_error(r, 409, "no_active_link")
    assert state(server, "qa-workspace", 3)["whatsapp"]["connected"] is False


def test_clock_commands(server):
    c = control(server, "GET", "/clock").json()
    assert c["frozen"] is False and abs(c["offset_seconds"]) < 1
    c = set_clock(server, {"advance_seconds": 90_000})
    assert 89_999 <= c["offset_seconds"] <= 90_001
    c = set_clock(server, {"set": "2030-01-01T00:00:00Z"})
    assert c["now"] == "2030-01-01T00:00:00Z" or at(c["now"]) - at("2030-01-01T00:00:00Z") < timedelta(seconds=2)
    c = set_clock(server, {"freeze": True})
    frozen_at = c["now"]
    assert c["frozen"] is True
    c = set_clock(server, {"advance_seconds": 60})
    assert at(c["now"]) == at(frozen_at) + timedelta(seconds=60) and c["frozen"] is True
    assert control(server, "GET", "/clock").json()["now"] == c["now"]  # a frozen clock stands still
    c = set_clock(server, {"freeze": False})
    assert c["frozen"] is False
    c = set_clock(server, {"real": True})
    assert abs(c["offset_seconds"]) < 1 and c["frozen"] is False


@pytest.mark.parametrize(
    "command, code",
    [
        ({}, "invalid_request"),
        ({"advance_seconds": 1, "freeze": True}, "invalid_request"),
        ({"advance_seconds": "60"}, "invalid_request"),
        ({"advance_seconds": 10**12}, "invalid_request"),
        ({"set": "2030-01-01"}, "invalid_request"),
        ({"set": "tomorrow"}, "invalid_request"),
        ({"real": False}, "invalid_request"),
        ({"set": "9999-01-01T00:00:00Z"}, "invalid_request"),
        ({"set": "1960-01-01T00:00:00Z"}, "invalid_request"),
    ],
)
def test_bad_clock_commands_are_400_and_leave_the_clock(server, command, code):
    set_clock(server, {"freeze": True})
    before = control(server, "GET", "/clock").json()
    r = control(server, "POST", "/clock", json=command)
    assert_error(r, 400, code)
    after = control(server, "GET", "/clock").json()
    assert (after["now"], after["frozen"]) == (before["now"], True)


def test_moving_the_clock_out_of_range_is_409_and_leaves_it(server):
    set_clock(server, {"set": "8999-06-01T00:00:00Z"})
    r = control(server, "POST", "/clock", json={"advance_seconds": 315360000})
    assert_error(r, 409, "clock_out_of_range")
    assert control(server, "GET", "/clock").json()["now"].startswith("8999-06-01")
    r = control(server, "POST", "/clock", json={"set": "8999-12-31T23:00:00-14:00"})
    assert_error(r, 409, "clock_out_of_range")


def test_the_clock_governs_issuance_and_expiry_but_not_jwt(server):
    set_clock(server, {"set": "2030-06-01T12:00:00Z"})
    issued = server.issue("qa-workspace", 4, json={"expires_in_hours": 2}).json()
    assert issued["expires_at"].startswith("2030-06-01T14:00:0")
    set_clock(server, {"advance_seconds": 2 * 3600 + 5})
    assert state(server, "qa-workspace", 4)["links"][0]["state"] == "expired"
    again = server.issue("qa-workspace", 4).json()
    assert again["previous_qr_revoked"] is False
    # JWTs are checked on real time whatever the test clock says
    import time
    now = int(time.time())
    r = server.client.post("/partner/api/v1/workspaces/qa-workspace/users/4/qr", headers={
        "Authorization": f"Bearer {make_token(nbf=now - 600, exp=now - 300)}", "X-TL-Partner-Id": "sandbox-partner"})
    assert_error(r, 401, "timestamp_out_of_range")


def test_clocks_are_per_partner(server):
    set_clock(server, {"set": "2031-01-01T00:00:00Z"})
    other = control(server, "GET", "/clock", partner="other-partner").json()
    assert other["frozen"] is False and abs(other["offset_seconds"]) < 1
    issued = server.issue("other-workspace", 7007, partner="other-partner").json()
    assert issued["expires_at"].startswith(str(datetime.now(UTC).year))


def test_reset_restores_the_callers_world_only(server):
    server.issue("my-first-workspace", 43)  # disconnects 43's fixture account
    server.issue("my-first-workspace", 44)  # revokes 44's fixture link
    server.issue("qa-workspace", 5)
    server.issue("other-workspace", 7007, partner="other-partner")
    set_clock(server, {"advance_seconds": 3600})
    set_clock(server, {"advance_seconds": 7200}, partner="other-partner")

    r = control(server, "POST", "/reset")
    assert r.status_code == 204 and r.content == b""

    assert state(server, "my-first-workspace", 43)["whatsapp"]["connected"] is True
    s44 = state(server, "my-first-workspace", 44)
    assert [link["state"] for link in s44["links"]] == ["active"]
    assert state(server, "qa-workspace", 5)["links"] == []
    assert abs(control(server, "GET", "/clock").json()["offset_seconds"]) < 1
    # the other partner keeps its link and its clock
    assert state(server, "other-workspace", 7007, partner="other-partner")["active_link"] is not None
    assert control(server, "GET", "/clock", partner="other-partner").json()["offset_seconds"] > 7000


def test_controls_are_scoped_to_the_caller(server):
    server.issue("qa-workspace", 6)
    for method, path in [("GET", "/workspaces/qa-workspace/users/6"), ("POST", "/workspaces/qa-workspace/users/6/scan")]:
        r = control(server, method, path, partner="other-partner")
        assert_error(r, 404, "workspace_not_found")
    assert state(server, "qa-workspace", 6)["active_link"] is not None  # the other partner's scan did nothing


def test_controls_require_authentication(server):
    for method, path in [("GET", "/clock"), ("POST", "/reset"), ("GET", "/requests"),
                         ("GET", "/workspaces/qa-workspace/users/1")]:
        r = server.client.request(method, "/sandbox/v1" + path, headers={"X-TL-Partner-Id": "sandbox-partner"})
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer"), (path, r.text)


def test_journal_lists_the_callers_partner_api_requests_newest_first(server):
    server.issue("qa-workspace", 8, json={"expires_in_hours": 3})
    server.issue("qa-workspace", 8, content=b"{bad", headers={"Content-Type": "application/json"})
    server.issue("other-workspace", 7007, partner="other-partner")
    control(server, "GET", "/clock")  # control calls are not journaled
    r = control(server, "GET", "/requests", params={"limit": 5})
    assert r.status_code == 200
    entries = r.json()["requests"]
    assert [e["status"] for e in entries] == [400, 200]
    newest, oldest = entries
    assert newest["request_body"] == "{bad" and '"invalid_request"' in newest["response_body"]
    assert oldest["method"] == "POST" and oldest["path"] == "/partner/api/v1/workspaces/qa-workspace/users/8/qr"
    assert oldest["request_body"] == '{"expires_in_hours":3}'
    assert oldest["request_headers"]["authorization"] == "<redacted>"
    assert "/qr/<redacted>" in oldest["response_body"]
    assert at(oldest["time"]) <= at(newest["time"])
    theirs = control(server, "GET", "/requests", partner="other-partner").json()["requests"]
    assert [e["path"] for e in theirs] == ["/partner/api/v1/workspaces/other-workspace/users/7007/qr"]


def test_journal_limit_bound_and_unauthenticated_requests(server):
    for _ in range(3):
        server.issue("qa-workspace", 9)
    server.client.post("/partner/api/v1/workspaces/qa-workspace/users/9/qr", headers={"X-TL-Partner-Id": "sandbox-partner"})
    entries = control(server, "GET", "/requests", params={"limit": 2}).json()["requests"]
    assert len(entries) == 2 and all(e["status"] == 200 for e in entries)  # the 401 has no proven caller
    for bad in (0, 201, "x"):
        r = control(server, "GET", "/requests", params={"limit": bad})
        assert_error(r, 400, "invalid_request")


def test_journal_keeps_the_last_200(server):
    for _ in range(205):
        server.issue("qa-workspace", 10)
    entries = control(server, "GET", "/requests", params={"limit": 200}).json()["requests"]
    assert len(entries) == 200
    import sqlite3
    with sqlite3.connect(server.db) as conn:
        kept = conn.execute("SELECT COUNT(*) FROM journal WHERE partner_id = 'sandbox-partner'").fetchone()[0]
    assert 200 <= kept <= 220  # trimmed every 20 entries


def test_control_api_spec_and_swagger_ui_are_served(server):
    spec = server.client.get("/sandbox/v1/openapi.json").json()
    assert "/clock" in spec["paths"] and "/reset" in spec["paths"]
    assert server.client.get("/sandbox/v1/ui/").status_code == 200

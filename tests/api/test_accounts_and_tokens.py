"""`disconnectWA` and the Public API token operations over HTTP: the rules, the envelope, state."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.helpers import assert_error, auth_headers, control

API = "/partner/api/v1/workspaces"


def disconnect(server, workspace, user, partner="sandbox-partner"):
    return server.client.post(f"{API}/{workspace}/users/{user}/whatsapp/disconnect", headers=auth_headers(partner))


def get_token(server, workspace, partner="sandbox-partner"):
    return server.client.get(f"{API}/{workspace}/api-token", headers=auth_headers(partner))


def rotate(server, workspace, partner="sandbox-partner"):
    return server.client.post(f"{API}/{workspace}/api-token", headers=auth_headers(partner))


def check(server, token, partner="sandbox-partner"):
    r = control(server, "POST", "/public-api-token/check", json={"token": token}, partner=partner)
    assert r.status_code == 200, r.text
    return r.json()


# --- disconnectWA -------------------------------------------------------------------------------

def test_a_connected_account_is_disconnected_and_the_next_call_is_a_no_op(sandbox):
    before = control(sandbox, "GET", "/workspaces/qa-connected/users/1002").json()["whatsapp"]
    r = disconnect(sandbox, "qa-connected", 1002)
    assert r.status_code == 200 and r.headers["x-tl-api-version"] == "v1", r.text
    body = r.json()
    assert set(body) == {"workspace_id", "user_id", "disconnected", "disconnected_at", "whatsapp_account_id",
                         "phone_number", "description"}
    assert (body["workspace_id"], body["user_id"], body["disconnected"]) == ("qa-connected", 1002, True)
    assert (body["whatsapp_account_id"], body["phone_number"]) == (before["account_id"], before["phone_number_e164"])
    after = control(sandbox, "GET", "/workspaces/qa-connected/users/1002").json()["whatsapp"]
    assert after["connected"] is False and after["disconnected_at"] == body["disconnected_at"]

    again = disconnect(sandbox, "qa-connected", 1002).json()
    assert again == {"workspace_id": "qa-connected", "user_id": 1002, "disconnected": False,
                     "description": "User 1002 has no connected WhatsApp account; nothing was disconnected"}
    # a link issued now has nothing left to disconnect
    assert sandbox.issue("qa-connected", 1002).json()["whatsapp_disconnected"] is False


def test_a_user_with_nothing_connected_is_a_no_op_leaving_its_link(sandbox, fresh_user):
    user = fresh_user()
    sandbox.issue("qa-workspace", user)
    assert disconnect(sandbox, "qa-workspace", user).json()["disconnected"] is False
    assert sandbox.issue("qa-workspace", user).json()["previous_qr_revoked"] is True  # the link stayed active


def test_a_scanned_account_can_be_disconnected(sandbox, fresh_user):
    user = fresh_user()
    sandbox.issue("qa-workspace", user)
    account = control(sandbox, "POST", f"/workspaces/qa-workspace/users/{user}/scan").json()["whatsapp"]
    body = disconnect(sandbox, "qa-workspace", user).json()
    assert body["disconnected"] is True and body["whatsapp_account_id"] == account["account_id"]


def test_a_suspended_user_may_be_disconnected(sandbox):
    r = disconnect(sandbox, "my-first-workspace", 9061)
    assert r.status_code == 200 and r.json()["disconnected"] is False


@pytest.mark.parametrize("workspace, user, partner, status, code", [
    ("other-workspace", 7007, "sandbox-partner", 404, "workspace_not_found"),
    ("qa-workspace", 7007, "sandbox-partner", 404, "user_not_found"),
    ("my-first-workspace", 1003, "sandbox-partner", 404, "user_not_in_workspace"),
    ("billed-workspace", 9070, "sandbox-partner", 403, "workspace_billing_managed"),
    ("inactive-workspace", 9080, "inactive-partner", 403, "partner_not_active"),
])
def test_disconnect_refusals_leave_the_account_connected(sandbox, workspace, user, partner, status, code):
    assert_error(disconnect(sandbox, workspace, user, partner), status, code)
    assert control(sandbox, "GET", "/workspaces/qa-connected/users/1003").json()["whatsapp"]["connected"] is True


def test_disconnect_requires_authentication(sandbox):
    r = sandbox.client.post(f"{API}/qa-connected/users/1004/whatsapp/disconnect", headers={"X-TL-Partner-Id": "sandbox-partner"})
    assert_error(r, 401, "missing_header")
    assert control(sandbox, "GET", "/workspaces/qa-connected/users/1004").json()["whatsapp"]["connected"] is True


# --- the Public API token --------------------------------------------------------------------------

def test_the_token_is_created_on_first_read_and_the_same_until_rotated(start_app):
    server = start_app()
    first = get_token(server, "qa-workspace")
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert first.headers["x-tl-api-version"] == "v1"
    token = first.json()["token"]
    assert first.json() == {"workspace_id": "qa-workspace", "token": token} and len(token) >= 43
    assert get_token(server, "qa-workspace").json()["token"] == token
    assert check(server, token) == {"valid": True, "workspace_id": "qa-workspace"}

    rotated = rotate(server, "qa-workspace")
    assert rotated.status_code == 201 and rotated.headers["x-tl-api-version"] == "v1"
    assert rotated.headers["cache-control"] == "no-store"
    new = rotated.json()
    assert set(new) == {"workspace_id", "token", "rotated_at"} and new["token"] != token
    assert check(server, token)["valid"] is False  # the previous token stopped at once
    assert check(server, new["token"]) == {"valid": True, "workspace_id": "qa-workspace"}
    assert get_token(server, "qa-workspace").json()["token"] == new["token"]
    again = rotate(server, "qa-workspace").json()  # not idempotent
    assert again["token"] != new["token"] and check(server, new["token"])["valid"] is False

    # each workspace has its own token
    assert get_token(server, "my-first-workspace").json()["token"] not in (token, new["token"], again["token"])
    # the journal keeps no token
    bodies = [e["response_body"] for e in control(server, "GET", "/requests").json()["requests"]]
    assert all(t not in b for b in bodies for t in (token, new["token"], again["token"]))
    assert '"token": "<redacted>"' in bodies[0]

    # a reset restores the fixtures' world: no token until the next read
    assert control(server, "POST", "/reset").status_code == 204
    assert check(server, again["token"])["valid"] is False
    assert get_token(server, "qa-workspace").json()["token"] != again["token"]


def test_a_rotation_on_a_workspace_without_a_token_makes_one(sandbox):
    rotated = rotate(sandbox, "qa-connected").json()
    assert get_token(sandbox, "qa-connected").json()["token"] == rotated["token"]


def test_concurrent_first_reads_get_one_token(sandbox_process):
    """Twenty first reads of a workspace's token at once, over connections of their own, across the
    server's worker processes: one token."""
    server = sandbox_process
    created = server.client.post(API, headers=auth_headers(), json={"display_name": f"Token-Race-{uuid.uuid4().hex[:12]}",
                                                                   "seats_purchased": 1})
    assert created.status_code == 201, created.text  # a workspace of the test's own: it has no token yet
    workspace = created.json()["workspace_id"]

    def read(_):
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            return client.get(f"{API}/{workspace}/api-token", headers=auth_headers()).json()["token"]

    with ThreadPoolExecutor(20) as pool:
        tokens = set(pool.map(read, range(20)))
    assert len(tokens) == 1


def test_tokens_are_scoped_to_their_partner(sandbox):
    mine = get_token(sandbox, "my-first-workspace").json()["token"]
    assert_error(get_token(sandbox, "my-first-workspace", "other-partner"), 404, "workspace_not_found")
    assert_error(rotate(sandbox, "my-first-workspace", "other-partner"), 404, "workspace_not_found")
    assert check(sandbox, mine, "other-partner") == {"valid": False, "workspace_id": None}
    assert check(sandbox, mine)["valid"] is True  # untouched by the other partner's calls


@pytest.mark.parametrize("call", [get_token, rotate])
def test_token_refusals(sandbox, call):
    assert_error(call(sandbox, "billed-workspace"), 403, "workspace_billing_managed")
    assert_error(call(sandbox, "no-such-workspace"), 404, "workspace_not_found")
    assert_error(call(sandbox, "inactive-workspace", "inactive-partner"), 403, "partner_not_active")


def test_a_bad_token_check_is_400(sandbox):
    r = control(sandbox, "POST", "/public-api-token/check", json={"token": ""})
    assert "token" in assert_error(r, 400, "invalid_request")["description"]

"""The Public API slice (public_api.yaml, under /integrations/api) over HTTP: the token, its envelope,
the same world as the Partner API, messages, and real use moving the quotas and their webhooks."""

from __future__ import annotations

import secrets
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest

from partner_sandbox.domain.clock import partner_now
from tests.helpers import ROOT, auth_headers, control
from tests.receivers import Receiver

PUBLIC = "/integrations/api"
PARTNER = "/partner/api/v1/workspaces"
SMALL_PLAN = ROOT / "tests" / "fixtures" / "small_plan.yaml"
ERROR_KEYS = {"status", "message", "error_code"}
UNAUTHORIZED = {"status": "error", "message": "Invalid or expired token"}
ACCESS_DENIED = {"status": "error", "message": "Access denied", "error_code": "permission_denied"}


# --- helpers -----------------------------------------------------------------------------------------

def partner(server, method, path, partner_id="sandbox-partner", **kwargs):
    r = server.client.request(method, PARTNER + path, headers=auth_headers(partner_id), **kwargs)
    assert r.status_code < 300, r.text
    return r.json()


def token_of(server, workspace, partner_id="sandbox-partner") -> str:
    return partner(server, "GET", f"/{workspace}/api-token", partner_id)["token"]


def public(server, method, path, token: str | None, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    headers.update(kwargs.pop("headers", {}))
    return server.client.request(method, PUBLIC + path, headers=headers, **kwargs)


def ok(r: httpx.Response):
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["status"] == "ok" and set(body) == {"status", "data"}, body
    assert "x-tl-api-version" not in r.headers  # the Partner API's header, not this API's
    return body["data"]


def assert_public_error(r: httpx.Response, status: int, error_code: str) -> dict:
    """The Public API's own envelope (never the Partner API's `error`/`description`)."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert ERROR_KEYS <= set(body) <= ERROR_KEYS | {"errors"}, body
    assert (body["status"], body["error_code"]) == ("error", error_code), body
    assert body["message"]
    return body


def send(server, token, **body) -> httpx.Response:
    return public(server, "POST", "/messages", token, json=body)


def new_workspace(server, seats=3, partner_id="sandbox-partner") -> str:
    name = f"Pub-{uuid.uuid4().hex[:12]}"
    return partner(server, "POST", "", partner_id, json={"display_name": name, "seats_purchased": seats})["workspace_id"]


def connect(server, workspace, user) -> dict:
    partner(server, "POST", f"/{workspace}/users/{user}/qr")
    r = control(server, "POST", f"/workspaces/{workspace}/users/{user}/scan")
    assert r.status_code == 200, r.text
    return r.json()["whatsapp"]


def store_of(server):
    return server._state["sandbox"].store


# --- the guide's whole flow ----------------------------------------------------------------------------

def test_the_guides_flow_end_to_end(sandbox):
    """Workspace, users, QR, scan; then the token lists the account, sends from it, the quota moves in
    both APIs, and a rotation gives the old token 401 and the new one 200."""
    workspace = new_workspace(sandbox)
    user = partner(sandbox, "POST", f"/{workspace}/users", json={"count": 1})["users"][0]["user_id"]
    account = connect(sandbox, workspace, user)
    token = token_of(sandbox, workspace)

    listed = ok(public(sandbox, "GET", "/whatsapp_accounts", token))["whatsapp_accounts"]
    phone = account["phone_number_e164"]
    assert [(a["phone"], a["id"], a["status"]) for a in listed] == [(phone, phone[1:] + "@s.whatsapp.net", "active")]
    assert listed[0]["owner_name"] == f"Agent {user}" and listed[0]["owner_email"].startswith(f"{user}-")

    uid = ok(send(sandbox, token, phone="+14840000000", text="Hello"))["message_uid"]
    message = ok(public(sandbox, "GET", f"/messages/{uid}", token))
    assert (message["sender_phone"], message["recipient_phone"], message["text"]) == (phone, "+14840000000", "Hello")
    sent = control(sandbox, "GET", f"/workspaces/{workspace}/messages").json()["messages"]
    assert [(m["message_uid"], m["whatsapp_account_phone"], m["credits"]) for m in sent] == [(uid, phone, 1)]

    info = ok(public(sandbox, "GET", "/workspace", token))
    assert info["messaging_quota"]["used"] == 1 and info["api_calls_quota"]["used"] == 4  # this call included
    details = partner(sandbox, "GET", f"/{workspace}")
    assert details["messages_quota"]["used"] == 1 and details["api_calls_quota"]["used"] == 4

    new = partner(sandbox, "POST", f"/{workspace}/api-token")["token"]
    assert_public_error(public(sandbox, "GET", "/whatsapp_accounts", token), 401, "invalid_token")
    assert ok(public(sandbox, "GET", "/whatsapp_accounts", new))["whatsapp_accounts"][0]["phone"] == phone


# --- authentication ------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers, code", [
    ({}, "missing_credentials"),
    ({"Authorization": ""}, "missing_credentials"),
    ({"Authorization": "Bearer " + "x" * 43}, "invalid_token"),
    ({"Authorization": "Bearer"}, "invalid_token"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "invalid_token"),
    ({"Authorization": "Bearer a b"}, "invalid_token"),
])
@pytest.mark.parametrize("method, path", [("GET", "/whatsapp_accounts"), ("GET", "/workspace"),
                                          ("GET", "/workspace/teammates"), ("POST", "/messages"),
                                          ("GET", "/messages/x"), ("GET", "/messages/x/status_history")])
def test_no_token_or_an_unknown_one_is_the_published_401(sandbox, headers, code, method, path):
    r = sandbox.client.request(method, PUBLIC + path, headers=headers, json={"phone": "+14840000000", "text": "x"})
    body = assert_public_error(r, 401, code)
    assert body == {**UNAUTHORIZED, "error_code": code}
    assert r.headers["www-authenticate"].startswith('Bearer realm="public-api"')


def test_a_partner_jwt_is_no_public_api_token(sandbox):
    r = sandbox.client.get(PUBLIC + "/whatsapp_accounts", headers=auth_headers())
    assert_public_error(r, 401, "invalid_token")


def test_a_rotated_token_is_401_at_once_and_the_new_one_names_the_workspace(app):
    old = token_of(app, "qa-connected")
    assert ok(public(app, "GET", "/workspace", old))["workspace_id"] == "qa-connected"
    new = partner(app, "POST", "/qa-connected/api-token")["token"]
    assert public(app, "GET", "/workspace", old).json() == {**UNAUTHORIZED, "error_code": "invalid_token"}
    assert ok(public(app, "GET", "/workspace", new))["workspace_id"] == "qa-connected"
    # each token names its own workspace
    assert ok(public(app, "GET", "/workspace", token_of(app, "my-first-workspace")))["workspace_id"] == "my-first-workspace"
    # a reset drops the tokens: the current one stops too
    assert control(app, "POST", "/reset").status_code == 204
    assert_public_error(public(app, "GET", "/workspace", new), 401, "invalid_token")


def test_a_rotation_is_seen_at_once_by_every_worker(sandbox_process):
    """The token is read from the store on each call: after a rotation, calls with the old token over
    connections of their own, spread over the server's worker processes, are all 401."""
    server = sandbox_process
    workspace = new_workspace(server, seats=1)
    old = token_of(server, workspace)

    def call(token):
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            return client.get(PUBLIC + "/workspace", headers={"Authorization": f"Bearer {token}"}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(call, [old] * 16)) == {200}
        new = partner(server, "POST", f"/{workspace}/api-token")["token"]
        assert set(pool.map(call, [old] * 24)) == {401}
        assert set(pool.map(call, [new] * 16)) == {200}
    assert old not in server.output() and new not in server.output()  # never logged


def test_a_billed_workspace_and_a_switched_off_partners_are_the_published_403(sandbox):
    billed = secrets.token_urlsafe(32)
    with store_of(sandbox).transaction() as tx:  # the Partner API hands out no token for these
        tx.create_api_token("billed-workspace", billed, datetime.now(UTC))
        tx.create_api_token("inactive-workspace", inactive := secrets.token_urlsafe(32), datetime.now(UTC))
    for token in (billed, inactive):
        for path in ("/whatsapp_accounts", "/workspace", "/workspace/teammates"):
            assert public(sandbox, "GET", path, token).json() == ACCESS_DENIED
            assert public(sandbox, "GET", path, token).status_code == 403
        r = send(sandbox, token, phone="+14840000000", text="x")
        assert (r.status_code, r.json()) == (403, ACCESS_DENIED)


# --- the same world ------------------------------------------------------------------------------------

def test_a_disconnect_a_reissued_qr_and_a_suspension_show_at_once(sandbox):
    workspace = new_workspace(sandbox, seats=4)
    users = [u["user_id"] for u in partner(sandbox, "POST", f"/{workspace}/users", json={"count": 3})["users"]]
    phones = {user: connect(sandbox, workspace, user)["phone_number_e164"] for user in users}
    token = token_of(sandbox, workspace)

    def statuses():
        accounts = ok(public(sandbox, "GET", "/whatsapp_accounts", token))["whatsapp_accounts"]
        return {a["phone"]: a["status"] for a in accounts}

    assert statuses() == {phones[u]: "active" for u in users}
    partner(sandbox, "POST", f"/{workspace}/users/{users[0]}/whatsapp/disconnect")
    partner(sandbox, "POST", f"/{workspace}/users/{users[1]}/qr")  # a new QR link disconnects
    partner(sandbox, "PATCH", f"/{workspace}", json={"seats_purchased": 3})  # suspends the newest agent
    assert statuses() == {phones[users[0]]: "disconnected", phones[users[1]]: "disconnected",
                          phones[users[2]]: "disconnected"}
    accounts = ok(public(sandbox, "GET", "/whatsapp_accounts", token))["whatsapp_accounts"]
    assert all(a["connected_on"] for a in accounts)  # when it was last connected, kept
    # scanning again connects it again
    control(sandbox, "POST", f"/workspaces/{workspace}/users/{users[1]}/scan")
    assert statuses()[phones[users[1]]] == "active"
    teammates = {t["user_id"]: t for t in ok(public(sandbox, "GET", "/workspace/teammates", token))["teammates"]}
    assert teammates[users[2]]["status"] == "Suspended" and teammates[users[1]]["status"] == "Active"


def test_the_teammates_are_the_workspaces_users_and_the_workspace_has_workspace_gets_figures(sandbox):
    token = token_of(sandbox, "my-first-workspace")
    control(sandbox, "POST", "/workspaces/my-first-workspace/usage", json={"messages": 3})
    data = ok(public(sandbox, "GET", "/workspace/teammates", token))
    details = partner(sandbox, "GET", "/my-first-workspace")
    assert data["teams"] == [{"title": "Default"}]
    assert [(t["user_id"], t["display_name"], t["email"], t["role"], t["status"].lower())
            for t in data["teammates"]] == [(u["user_id"], u["display_name"], u["email"], u["role"], u["status"])
                                           for u in details["users"]]
    user_43 = next(t for t in data["teammates"] if t["user_id"] == 43)
    assert [a["phone"] for a in user_43["whatsapp_accounts"]] == ["+15550100043"]

    info = ok(public(sandbox, "GET", "/workspace", token))
    details = partner(sandbox, "GET", "/my-first-workspace")
    assert (info["workspace_id"], info["display_name"]) == (details["workspace_id"], details["display_name"])
    assert info["seats"] == details["seats"]
    for ours, theirs in (("messaging_quota", "messages_quota"), ("api_calls_quota", "api_calls_quota")):
        assert (info[ours]["total"], info[ours]["used"]) == (details[theirs]["total"], details[theirs]["used"])
        start = datetime.strptime(info[ours]["period_start"], "%Y-%m-%d %H:%M:%S %z")
        assert start == datetime.strptime(details[theirs]["period_start"], "%Y-%m-%dT%H:%M:%S%z")
    assert info["non_recurring_quota"]["remaining_balance"] == details["non_recurring_quota"]["remaining_balance"]
    assert info["messaging_quota"]["used"] >= 3


# --- messages ------------------------------------------------------------------------------------------

def test_the_sender_is_the_named_account_else_the_most_recently_connected(sandbox):
    workspace = new_workspace(sandbox, seats=3)
    first, second = (u["user_id"] for u in partner(sandbox, "POST", f"/{workspace}/users", json={"count": 2})["users"])
    token = token_of(sandbox, workspace)
    assert_public_error(send(sandbox, token, phone="+14840000000", text="x"), 404, "not_found")  # none connected
    phone_first = connect(sandbox, workspace, first)["phone_number_e164"]
    time.sleep(0.002)
    phone_second = connect(sandbox, workspace, second)["phone_number_e164"]

    def sender(**named):
        uid = ok(send(sandbox, token, phone="+1 (484) 000-0000", text="x", **named))["message_uid"]
        return ok(public(sandbox, "GET", f"/messages/{uid}", token))

    assert sender()["sender_phone"] == phone_second
    by_name = sender(whatsapp_account_phone=phone_first)
    assert (by_name["sender_phone"], by_name["sender_name"]) == (phone_first, f"Agent {first}")
    assert by_name["recipient_phone"] == "+14840000000"  # normalised
    assert sender(whatsapp_account_phone=phone_first[1:])["sender_phone"] == phone_first  # without the +
    # an account of another workspace, an unknown number, a disconnected account: 404, nothing sent
    count = len(control(sandbox, "GET", f"/workspaces/{workspace}/messages").json()["messages"])
    for named in ("+15550201001", "+19999999999"):
        body = assert_public_error(send(sandbox, token, phone="+14840000000", text="x", whatsapp_account_phone=named),
                                   404, "not_found")
        assert "whatsapp_account_phone" in body["message"]
    partner(sandbox, "POST", f"/{workspace}/users/{second}/whatsapp/disconnect")
    assert_public_error(send(sandbox, token, phone="+14840000000", text="x", whatsapp_account_phone=phone_second),
                        404, "not_found")
    assert sender()["sender_phone"] == phone_first  # the one still connected
    assert len(control(sandbox, "GET", f"/workspaces/{workspace}/messages").json()["messages"]) == count + 1


def test_a_text_costs_one_credit_and_an_attachment_two(sandbox):
    token = token_of(sandbox, "qa-connected")

    def used():
        return partner(sandbox, "GET", "/qa-connected")["messages_quota"]["used"]

    before = used()
    ok(send(sandbox, token, phone="+14840000000", text="only text"))
    assert used() == before + 1
    uid = ok(send(sandbox, token, phone="+14840000000", text="and a file", file_uid="f-1"))["message_uid"]
    assert used() == before + 3
    ok(send(sandbox, token, phone="+14840000000", attachment_template_id=5))
    assert used() == before + 5
    message = ok(public(sandbox, "GET", f"/messages/{uid}", token))
    assert message["has_attachment"] is True and message["origin"] == "Public API" and message["from_me"] is True
    listed = control(sandbox, "GET", "/workspaces/qa-connected/messages", params={"limit": 3}).json()["messages"]
    assert [m["credits"] for m in listed] == [2, 2, 1]
    assert listed[1]["file_uid"] == "f-1" and "text" not in listed[0]


def test_statuses_move_on_the_partners_clock(app):
    token = token_of(app, "qa-connected")
    assert control(app, "POST", "/clock", json={"freeze": True}).status_code == 200
    assert control(app, "POST", "/clock", json={"set": "2031-03-04T05:06:07Z"}).json()["frozen"] is True
    uid = ok(send(app, token, phone="+14840000000", text="x"))["message_uid"]
    assert ok(public(app, "GET", f"/messages/{uid}/status_history", token)) == [
        {"status": "Sent", "timestamp": "2031-03-04 05:06:07 +0000"}]
    assert ok(public(app, "GET", f"/messages/{uid}", token))["status"] == "Sent"
    assert control(app, "GET", "/workspaces/qa-connected/messages").json()["messages"][0]["status"] == "Sent"
    control(app, "POST", "/clock", json={"advance_seconds": 1})
    assert ok(public(app, "GET", f"/messages/{uid}/status_history", token)) == [
        {"status": "Sent", "timestamp": "2031-03-04 05:06:07 +0000"},
        {"status": "Delivered", "timestamp": "2031-03-04 05:06:08 +0000"}]
    message = ok(public(app, "GET", f"/messages/{uid}", token))
    assert (message["status"], message["timestamp"]) == ("Delivered", "2031-03-04 05:06:07 +0000")
    # the quota of the clock's period
    info = ok(public(app, "GET", "/workspace", token))
    assert info["messaging_quota"]["period_start"] == "2031-03-01 00:00:00 +0000"
    assert info["messaging_quota"]["used"] == 1


def test_a_message_is_its_workspaces_only(sandbox):
    uid = ok(send(sandbox, token_of(sandbox, "qa-connected"), phone="+14840000000", text="x"))["message_uid"]
    other = token_of(sandbox, "my-first-workspace")
    for path in (f"/messages/{uid}", f"/messages/{uid}/status_history", "/messages/no-such-uid"):
        assert_public_error(public(sandbox, "GET", path, other), 404, "not_found")


@pytest.mark.parametrize("body, field", [
    ({"text": "x"}, "phone"),
    ({"phone": 14840000000, "text": "x"}, "phone"),
    ({"phone": "+14840000000", "text": "x" * 2001}, "text"),
    ({"phone": "+14840000000", "text": "x", "attachment_template_id": "seven"}, "attachment_template_id"),
    ({"phone": "+14840000000", "text": "x", "label": "l" * 65}, "label"),
])
def test_a_body_off_the_schema_is_400_naming_the_field(sandbox, body, field):
    r = send(sandbox, token_of(sandbox, "qa-connected"), **body)
    error = assert_public_error(r, 400, "validation_error")
    assert error["errors"][0]["fields"] == [field] and error["errors"][0]["msg"], error


@pytest.mark.parametrize("body, words", [
    ({"phone": "not a phone", "text": "x"}, "phone"),
    ({"phone": "+1", "text": "x"}, "phone"),
    ({"phone": "+14840000000"}, "text"),
    ({"phone": "+14840000000", "text": ""}, "text"),
    ({"phone": "+14840000000", "text": "nul \u0000 inside"}, "NUL"),
])
def test_a_message_breaking_a_rule_is_400_and_nothing_is_sent(sandbox, body, words):
    before = len(control(sandbox, "GET", "/workspaces/qa-connected/messages").json()["messages"])
    error = assert_public_error(send(sandbox, token_of(sandbox, "qa-connected"), **body), 400, "validation_error")
    assert words in error["message"] and "errors" not in error
    assert len(control(sandbox, "GET", "/workspaces/qa-connected/messages").json()["messages"]) == before


@pytest.mark.parametrize("content", [b"", b"[]", b"{", b"null", b'{"phone": "\\ud800"}', b"\xff\xfe"])
def test_hostile_bodies_are_the_envelope_never_a_500(sandbox, content):
    r = sandbox.client.post(PUBLIC + "/messages", content=content, headers={
        "Authorization": f"Bearer {token_of(sandbox, 'qa-connected')}", "Content-Type": "application/json"})
    assert_public_error(r, 400, "validation_error")


def test_routing_errors_and_swagger_ui_are_this_apis(sandbox):
    token = token_of(sandbox, "qa-connected")
    assert_public_error(public(sandbox, "GET", "/quotas", token), 404, "not_found")
    assert_public_error(public(sandbox, "GET", "/whatsapp_accounts/", token), 404, "not_found")  # no trailing slash
    assert_public_error(public(sandbox, "DELETE", "/workspace", token), 405, "not_supported")
    assert sandbox.client.get(PUBLIC + "/ui/").status_code == 200
    served = sandbox.client.get(PUBLIC + "/openapi.json").json()
    assert served["servers"][0]["url"] == PUBLIC and "MessageToPhone" in served["components"]["schemas"]


def test_the_control_listing_is_the_partners_own(sandbox):
    r = control(sandbox, "GET", "/workspaces/qa-connected/messages", partner="other-partner")
    assert r.status_code == 404 and r.json()["error"] == "workspace_not_found"


# --- use drives the quotas -----------------------------------------------------------------------------

def test_every_authenticated_call_counts_and_a_refused_token_does_not(sandbox):
    workspace = new_workspace(sandbox, seats=1)
    token = token_of(sandbox, workspace)
    for path in ("/whatsapp_accounts", "/workspace/teammates", "/messages/none"):
        public(sandbox, "GET", path, token)
    send(sandbox, token, phone="x")  # a 400 is an authenticated call too
    public(sandbox, "GET", "/workspace", "not-the-token")
    public(sandbox, "GET", "/workspace", None)
    assert partner(sandbox, "GET", f"/{workspace}")["api_calls_quota"]["used"] == 4


@pytest.fixture
def small_world(start_app):
    receiver = Receiver()
    server = start_app("--webhook-backoff", "0.1", fixtures=SMALL_PLAN)
    assert control(server, "PUT", "/webhook", json={"url": receiver.url}).status_code == 200
    yield server, receiver
    receiver.stop()


def test_real_sends_fire_ninety_then_a_hundred_percent_once_and_the_next_send_is_refused(small_world):
    server, receiver = small_world
    token = token_of(server, "small-workspace")
    for _ in range(8):
        ok(send(server, token, phone="+14840000000", text="x"))
    time.sleep(0.4)
    assert receiver.events == []  # 80%
    ok(send(server, token, phone="+14840000000", text="x"))  # 90%
    assert [e["event_type"] for e in receiver.wait_for(1)] == ["workspace:quota_near_full:messaging"]
    ok(send(server, token, phone="+14840000000", text="x"))  # 100%
    events = receiver.wait_for(2)
    assert [e["event_type"] for e in events] == ["workspace:quota_near_full:messaging", "workspace:quota_full:messaging"]
    assert (events[0]["messaging_quota_used"], events[1]["messaging_quota_used"]) == (9, 10)
    refused = assert_public_error(send(server, token, phone="+14840000000", text="x"), 429, "quota_exceeded")
    assert "messaging quota" in refused["message"]
    time.sleep(0.5)
    assert len(receiver.events) == 2  # once a period
    assert partner(server, "GET", "/small-workspace")["messages_quota"]["used"] == 10
    assert len(control(server, "GET", "/workspaces/small-workspace/messages").json()["messages"]) == 10
    # the next period (the test clock in the next month) sends again
    control(server, "POST", "/clock", json={"advance_seconds": 32 * 86400})
    ok(send(server, token, phone="+14840000000", text="x"))


def test_an_attachment_that_would_pass_the_quota_is_refused(small_world):
    server, _ = small_world
    token = token_of(server, "small-workspace")
    control(server, "POST", "/workspaces/small-workspace/usage", json={"messages": 9})
    assert_public_error(send(server, token, phone="+14840000000", text="x", file_uid="f"), 429, "quota_exceeded")
    ok(send(server, token, phone="+14840000000", text="x"))  # a text still fits


def test_real_calls_fire_the_api_calls_event_once_and_past_it_calls_are_429(small_world):
    server, receiver = small_world
    token = token_of(server, "small-workspace")
    for _ in range(29):
        ok(public(server, "GET", "/whatsapp_accounts", token))
    time.sleep(0.3)
    assert receiver.events == []
    info = ok(public(server, "GET", "/workspace", token))  # the 30th of 30
    assert info["api_calls_quota"] == {**info["api_calls_quota"], "total": 30, "used": 30}
    events = receiver.wait_for(1)
    assert [e["event_type"] for e in events] == ["workspace:quota_full:api_calls"]
    assert (events[0]["api_calls_used"], events[0]["api_calls_limit"]) == (30, 30)
    for path in ("/whatsapp_accounts", "/workspace"):
        body = assert_public_error(public(server, "GET", path, token), 429, "quota_exceeded")
        assert "Public API calls" in body["message"]
    assert_public_error(send(server, token, phone="+14840000000", text="x"), 429, "quota_exceeded")
    time.sleep(0.4)
    assert len(receiver.events) == 1
    assert partner(server, "GET", "/small-workspace")["api_calls_quota"]["used"] == 30  # refused calls not counted
    # a new period: the calls are open again
    control(server, "POST", "/clock", json={"advance_seconds": 32 * 86400})
    assert ok(public(server, "GET", "/workspace", token))["api_calls_quota"]["used"] == 1


def test_the_period_is_the_partners_clock(small_world):
    server, _ = small_world
    with store_of(server).transaction() as tx:
        real = partner_now(tx, "sandbox-partner", datetime.now(UTC))
    info = ok(public(server, "GET", "/workspace", token_of(server, "small-workspace")))
    assert info["messaging_quota"]["period_start"].startswith(f"{real.year:04d}-{real.month:02d}-01 00:00:00")
    assert info["plan"] == "Partner plan 7"


def test_the_fast_lane_answers_as_connexion_does_and_counts_once(sandbox):
    """A plain GET /whatsapp_accounts takes the fast lane (web/public_fastpath.py); a request with a
    repeated header goes connexion's way: the same answer, each call counted once, refusals alike."""
    workspace = new_workspace(sandbox, seats=2)
    token = token_of(sandbox, workspace)

    def used():
        return partner(sandbox, "GET", f"/{workspace}")["api_calls_quota"]["used"]

    fast = public(sandbox, "GET", "/whatsapp_accounts", token)
    slow = sandbox.client.get(PUBLIC + "/whatsapp_accounts", headers=[("Authorization", f"Bearer {token}"),
                                                                      ("X-Dup", "1"), ("X-Dup", "2")])
    assert fast.json() == slow.json() and fast.status_code == slow.status_code == 200
    assert fast.headers["content-type"] == slow.headers["content-type"] == "application/json"
    assert used() == 2
    refused = public(sandbox, "GET", "/whatsapp_accounts", "unknown")  # the lane leaves it to connexion
    assert refused.json() == {**UNAUTHORIZED, "error_code": "invalid_token"} and used() == 2


def test_a_rotation_on_one_replica_is_seen_at_once_by_the_other_and_usage_is_shared(pg_replicas):
    """Two sandbox processes on one PostgreSQL database: the token rotated through one is 401 on the
    other on the next call; both count calls and sends into the same quotas."""
    first, second = pg_replicas
    workspace = new_workspace(first, seats=2)
    user = partner(first, "POST", f"/{workspace}/users", json={"count": 1})["users"][0]["user_id"]
    connect(second, workspace, user)
    old = token_of(first, workspace)
    assert ok(public(second, "GET", "/whatsapp_accounts", old))["whatsapp_accounts"][0]["status"] == "active"
    uid = ok(send(second, old, phone="+14840000000", text="x"))["message_uid"]
    assert ok(public(first, "GET", f"/messages/{uid}", old))["uid"] == uid
    new = partner(first, "POST", f"/{workspace}/api-token")["token"]
    assert_public_error(public(second, "GET", "/workspace", old), 401, "invalid_token")
    info = ok(public(second, "GET", "/workspace", new))
    assert (info["messaging_quota"]["used"], info["api_calls_quota"]["used"]) == (1, 4)


@pytest.mark.parametrize("content, headers, status", [
    (b"x" * (65 * 1024), {"Content-Type": "application/json"}, 413),  # refused by the guard, before the app
    (b"phone=1", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    (b"{}", {"Content-Type": "application/json", "X-Big": "y" * (33 * 1024)}, 431),
])
def test_limits_answer_in_the_public_apis_envelope(sandbox, content, headers, status):
    r = sandbox.client.post(PUBLIC + "/messages", content=content,
                            headers={"Authorization": f"Bearer {token_of(sandbox, 'qa-connected')}", **headers})
    body = assert_public_error(r, status, "validation_error")
    assert "error" not in body and "description" not in body

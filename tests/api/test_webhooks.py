"""Partner webhooks over real HTTP: a receiver on loopback (tests/receivers.py) verifies every
delivery's signature with pyjwt and its body against webhooks.yaml."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, assert_error, auth_headers, control, deliveries, free_port, wait_status
from tests.receivers import Receiver


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def set_webhook(server, url, partner="sandbox-partner"):
    r = control(server, "PUT", "/webhook", json={"url": url}, partner=partner)
    assert r.status_code == 200, r.text




def test_the_full_flow_delivers_connected_then_disconnected(start_app, receiver):
    server = start_app("--webhook-backoff", "0.1")
    set_webhook(server, receiver.url)
    first = server.issue("qa-workspace", 21).json()
    assert first["whatsapp_disconnected"] is False  # no account: no event for the no-op
    scanned = control(server, "POST", "/workspaces/qa-workspace/users/21/scan").json()
    connected = receiver.wait_for(1)[0]
    account = scanned["whatsapp"]
    assert connected["event_type"] == "whatsapp_account:connected"
    assert (connected["workspace_id"], connected["user_id"], connected["partner_id"]) == ("qa-workspace", 21, "sandbox-partner")
    assert (connected["whatsapp_account_id"], connected["phone_number_e164"]) == (account["account_id"], account["phone_number_e164"])
    assert "connected_at" not in connected  # not in the published event: triggered_at is the instant
    assert connected["triggered_at"][:19] == account["connected_at"][:19]

    reissued = server.issue("qa-workspace", 21).json()
    assert reissued["whatsapp_disconnected"] is True
    disconnected = receiver.wait_for(2)[1]
    assert disconnected["event_type"] == "whatsapp_account:disconnected"
    assert disconnected["whatsapp_account_id"] == account["account_id"]
    assert "new QR link" in disconnected["reason"]
    state = control(server, "GET", "/workspaces/qa-workspace/users/21").json()
    assert disconnected["disconnected_at"][:19] == state["whatsapp"]["disconnected_at"][:19]
    assert connected["id"] != disconnected["id"]
    log = wait_status(server, "delivered", 2)
    assert [d["event_type"] for d in log] == ["whatsapp_account:disconnected", "whatsapp_account:connected"]
    assert all(len(d["attempts"]) == 1 and d["attempts"][0]["status_code"] == 204 for d in log)

    # a re-issue with nothing connected sends nothing
    server.issue("qa-workspace", 21)
    time.sleep(0.6)
    assert len(receiver.attempts) == 2


def test_retries_until_the_receiver_answers(start_app):
    receiver = Receiver(fail_first=2)
    try:
        server = start_app("--webhook-backoff", "0.1")
        set_webhook(server, receiver.url)
        server.issue("qa-connected", 1010)  # disconnects: one event
        event = receiver.wait_for(1)[0]
        assert len(receiver.attempts) == 3 and len({a["event_id"] for a in receiver.attempts}) == 1
        log = wait_status(server, "delivered", 1)[0]
        assert [a["status_code"] for a in log["attempts"]] == [500, 500, 204]
        assert [a["error"] for a in log["attempts"]] == ["HTTP 500", "HTTP 500", None]
        assert log["event_id"] == event["id"]
    finally:
        receiver.stop()


def test_a_receiver_down_past_the_bound_leaves_the_event_failed_and_redeliver_works(start_app):
    port = free_port()
    server = start_app("--webhook-backoff", "0.05", "--webhook-attempts", "3")
    set_webhook(server, f"http://127.0.0.1:{port}/hooks")
    server.issue("qa-connected", 1011)
    failed = wait_status(server, "failed", 1)[0]
    assert len(failed["attempts"]) == 3 and all("connection error" in a["error"] for a in failed["attempts"])
    assert failed["next_retry_at"] is None

    receiver = Receiver(port=port)
    try:
        r = control(server, "POST", f"/webhook/deliveries/{failed['id']}/redeliver")
        assert r.status_code == 202
        assert receiver.wait_for(1)[0]["id"] == failed["event_id"]
        assert len(wait_status(server, "delivered", 1)[0]["attempts"]) == 4
    finally:
        receiver.stop()
    other = control(server, "POST", f"/webhook/deliveries/{failed['id']}/redeliver", partner="other-partner")
    assert_error(other, 404, "delivery_not_found")


def test_an_event_written_before_a_crash_is_delivered_once_after_restart(start_sandbox):
    port = free_port()
    server = start_sandbox("--webhook-backoff", "0.3")
    set_webhook(server, f"http://127.0.0.1:{port}/hooks")  # nothing listens yet
    server.issue("qa-connected", 1012)
    wait_until = time.monotonic() + 10
    while not deliveries(server)[0]["attempts"] and time.monotonic() < wait_until:
        time.sleep(0.05)
    server.kill9()  # the event is in the outbox, undelivered
    receiver = Receiver(port=port)
    try:
        server.start()
        events = receiver.wait_for(1)
        time.sleep(1)
        assert len(receiver.events) == 1 and events[0]["user_id"] == 1012
        assert wait_status(server, "delivered", 1)[0]["status"] == "delivered"
    finally:
        receiver.stop()


def test_webhook_url_from_fixtures_and_the_control_api(start_app, tmp_path):
    world = (ROOT / "tests" / "fixtures" / "world.yaml").read_text().replace(
        "    secret: other-partner-secret-for-local-testing\n",
        "    secret: other-partner-secret-for-local-testing\n    webhook_url: http://127.0.0.1:9/from-fixtures\n")
    (tmp_path / "world.yaml").write_text(world)
    server = start_app(fixtures=tmp_path / "world.yaml")
    assert control(server, "GET", "/webhook", partner="other-partner").json() == {"url": "http://127.0.0.1:9/from-fixtures"}
    assert control(server, "GET", "/webhook").json() == {"url": None}  # scoped to the caller
    set_webhook(server, "https://example.test/hooks")
    assert control(server, "GET", "/webhook").json() == {"url": "https://example.test/hooks"}
    assert control(server, "GET", "/webhook", partner="other-partner").json()["url"].endswith("/from-fixtures")
    for bad in ({"url": "ftp://x"}, {"url": "not a url"}, {}, {"url": 5}):
        r = control(server, "PUT", "/webhook", json=bad)
        assert_error(r, 400, "invalid_request")
    assert control(server, "DELETE", "/webhook").status_code == 204
    assert control(server, "GET", "/webhook").json() == {"url": None}
    server.issue("qa-connected", 1013)  # no URL: nothing is kept
    assert deliveries(server) == []


def test_webhooks_command_prints_deliveries(start_sandbox, receiver):
    server = start_sandbox("--webhook-backoff", "0.1")
    set_webhook(server, receiver.url)
    server.issue("qa-connected", 1014)
    server.client.post("/partner/api/v1/workspaces/qa-connected/api-token", headers=auth_headers())
    receiver.wait_for(2)
    out = subprocess.run([sys.executable, "-m", "partner_sandbox", "webhooks", "--base-url", server.base_url,
                          "--fixtures", str(ROOT / "tests" / "fixtures" / "world.yaml"), "--seconds", "1.5",
                          "--interval", "0.5"], capture_output=True, text=True, timeout=30).stdout
    assert "whatsapp_account:disconnected  qa-connected/1014  attempt 1: HTTP 204" in out and "delivered" in out
    assert "api_token:rotated  qa-connected  attempt 1: HTTP 204" in out  # a workspace's own event: no user


def test_deliveries_go_only_to_allowed_hosts(start_app, receiver):
    server = start_app("--webhook-hosts", "localhost", "--webhook-attempts", "1")
    set_webhook(server, receiver.url)  # 127.0.0.1 is not in the list
    server.issue("qa-connected", 1015)
    failed = wait_status(server, "failed", 1)[0]
    assert failed["attempts"][0]["error"] == "host not allowed (--webhook-hosts)"
    assert receiver.attempts == []


def test_the_disconnect_operation_sends_disconnected_and_a_no_op_sends_nothing(start_app, receiver):
    server = start_app("--webhook-backoff", "0.1")
    set_webhook(server, receiver.url)
    url = "/partner/api/v1/workspaces/qa-connected/users/{}/whatsapp/disconnect"
    done = server.client.post(url.format(1005), headers=auth_headers()).json()
    event = receiver.wait_for(1)[0]
    assert event["event_type"] == "whatsapp_account:disconnected" and "Partner API" in event["reason"]
    assert (event["workspace_id"], event["user_id"], event["whatsapp_account_id"], event["phone_number_e164"]) == (
        "qa-connected", 1005, done["whatsapp_account_id"], done["phone_number"])
    assert event["disconnected_at"][:19] == done["disconnected_at"][:19]
    assert server.client.post(url.format(1005), headers=auth_headers()).json()["disconnected"] is False
    time.sleep(0.6)
    assert len(receiver.attempts) == 1


# --- the workspace's own events (seats, quotas, token rotation) ---------------------------------

API = "/partner/api/v1/workspaces"


def partner_api(server, method, path, **kwargs):
    r = server.client.request(method, API + path, headers=auth_headers(), **kwargs)
    assert r.status_code < 300, r.text
    return r.json()


def use(server, workspace, **amount):
    r = control(server, "POST", f"/workspaces/{workspace}/usage", json=amount)
    assert r.status_code == 200, r.text


def test_each_of_the_eight_events_fires_exactly_once_for_its_trigger(start_app, receiver):
    server = start_app("--webhook-backoff", "0.1")
    set_webhook(server, receiver.url)
    partner_api(server, "POST", "", json={"display_name": "Eight-Events", "seats_purchased": 2})
    user = partner_api(server, "POST", "/eight-events/users", json={"count": 1})["users"][0]["user_id"]  # seats full
    partner_api(server, "POST", f"/eight-events/users/{user}/qr")
    control(server, "POST", f"/workspaces/eight-events/users/{user}/scan")  # connected
    partner_api(server, "POST", f"/eight-events/users/{user}/whatsapp/disconnect")  # disconnected
    use(server, "eight-events", messages=900)  # 90%: near full
    use(server, "eight-events", messages=100)  # 100%: full
    use(server, "eight-events", transactions=1)  # the non-recurring balance (0) is spent
    use(server, "eight-events", api_calls=10_000)  # 100%
    partner_api(server, "POST", "/eight-events/api-token")  # rotated
    # the same triggers again, in the same period: only a rotation sends again
    partner_api(server, "PATCH", "/eight-events", json={"seats_purchased": 2})
    use(server, "eight-events", messages=50)
    use(server, "eight-events", transactions=1)
    use(server, "eight-events", api_calls=5)
    partner_api(server, "POST", f"/eight-events/users/{user}/whatsapp/disconnect")  # a no-op: nothing
    events = receiver.wait_for(8)
    time.sleep(0.8)
    kinds = [e["event_type"] for e in receiver.events]
    assert kinds == ["workspace:seats_full", "whatsapp_account:connected", "whatsapp_account:disconnected",
                     "workspace:quota_near_full:messaging", "workspace:quota_full:messaging",
                     "workspace:quota_full:transactions", "workspace:quota_full:api_calls", "api_token:rotated"], kinds
    by_kind = {e["event_type"]: e for e in events}
    assert (by_kind["workspace:seats_full"]["seats_purchased"], by_kind["workspace:seats_full"]["seats_available"]) == (2, 0)
    assert by_kind["workspace:quota_near_full:messaging"]["utilization_pct"] == 90
    assert by_kind["workspace:quota_full:messaging"]["messaging_quota_used"] == 1000
    assert by_kind["workspace:quota_full:api_calls"]["api_calls_used"] == 10_000
    assert "token" not in by_kind["api_token:rotated"] and by_kind["api_token:rotated"]["rotated_at"]
    assert all(e["workspace_id"] == "eight-events" for e in events)
    log = wait_status(server, "delivered", 8)
    assert {d["user_id"] for d in log if d["event_type"].startswith("workspace:")} == {None}


def test_no_event_for_use_under_ninety_percent_and_a_jump_sends_both_in_order_once_a_period(start_app, receiver):
    server = start_app("--webhook-backoff", "0.1")
    set_webhook(server, receiver.url)
    partner_api(server, "POST", "", json={"display_name": "Jumpy", "seats_purchased": 5})
    control(server, "POST", "/clock", json={"set": "2031-05-10T00:00:00Z"})
    use(server, "jumpy", messages=500)  # 50%: nothing
    time.sleep(0.6)
    assert receiver.attempts == []
    use(server, "jumpy", messages=700)  # 50% -> 120% in one step: both, in order
    events = receiver.wait_for(2)
    assert [e["event_type"] for e in events] == ["workspace:quota_near_full:messaging", "workspace:quota_full:messaging"]
    assert events[1]["utilization_pct"] == 100 and events[1]["current_period_start"] == "2031-05-01T00:00:00Z"
    use(server, "jumpy", messages=100)
    time.sleep(0.6)
    assert len(receiver.events) == 2  # not again this period
    control(server, "POST", "/clock", json={"set": "2031-06-02T00:00:00Z"})  # a new period: armed again
    state = control(server, "GET", "/workspaces/jumpy").json()
    assert state["messages_quota"]["used"] == 0 and state["messages_quota"]["period_start"] == "2031-06-01T00:00:00Z"
    use(server, "jumpy", messages=950)
    again = receiver.wait_for(3)[2]
    assert (again["event_type"], again["current_period_start"]) == ("workspace:quota_near_full:messaging",
                                                                    "2031-06-01T00:00:00Z")


def test_a_seat_downgrade_sends_seats_full_and_the_suspended_users_disconnection(start_app, receiver):
    server = start_app("--webhook-backoff", "0.1")
    set_webhook(server, receiver.url)
    partner_api(server, "POST", "", json={"display_name": "Downgrade", "seats_purchased": 4})
    first, second = (u["user_id"] for u in partner_api(server, "POST", "/downgrade/users", json={"count": 2})["users"])
    partner_api(server, "POST", f"/downgrade/users/{second}/qr")
    control(server, "POST", f"/workspaces/downgrade/users/{second}/scan")
    partner_api(server, "PATCH", "/downgrade", json={"seats_purchased": 2})
    events = receiver.wait_for(3)
    assert [e["event_type"] for e in events] == ["whatsapp_account:connected", "whatsapp_account:disconnected",
                                                 "workspace:seats_full"]
    assert events[1]["user_id"] == second and "suspended" in events[1]["reason"]


def test_a_workspace_event_written_before_a_crash_is_delivered_once_after_restart(start_sandbox):
    port = free_port()
    server = start_sandbox("--webhook-backoff", "0.3")
    set_webhook(server, f"http://127.0.0.1:{port}/hooks")  # nothing listens yet
    partner_api(server, "POST", "/qa-workspace/api-token")  # api_token:rotated, into the outbox
    server.kill9()
    receiver = Receiver(port=port)
    try:
        server.start()
        receiver.wait_for(1)
        time.sleep(1)
        assert [e["event_type"] for e in receiver.events] == ["api_token:rotated"]
        assert wait_status(server, "delivered", 1)[0]["status"] == "delivered"
    finally:
        receiver.stop()


def test_a_webhook_signature_never_opens_the_apis(start_app, receiver):
    """The signature has the published shape (the receiver above verifies it with the partner's
    secret, partner_id, nbf and exp), yet replayed as credentials it is refused everywhere."""
    server = start_app("--webhook-backoff", "0.1")
    set_webhook(server, receiver.url)
    server.issue("qa-workspace", 22)
    control(server, "POST", "/workspaces/qa-workspace/users/22/scan")
    receiver.wait_for(1)
    signature = receiver.attempts[0]["signature"]
    stolen = {"Authorization": f"Bearer {signature}", "X-TL-Partner-Id": "sandbox-partner"}
    replays = [
        server.client.get("/partner/api/v1/workspaces/qa-workspace/api-token", headers=stolen),
        server.client.post("/partner/api/v1/workspaces/qa-workspace/users/23/qr", headers=stolen),  # the fast lane
        server.client.post("/partner/api/v1/workspaces/qa-workspace/users/23/qr", headers=stolen, json={}),
        server.client.put("/sandbox/v1/webhook", headers=stolen, json={"url": "http://127.0.0.1:9/stolen"}),
        server.client.get("/sandbox/v1/requests", headers=stolen),
    ]
    for r in replays:
        assert "webhook signature" in assert_error(r, 401, "invalid_signature")["description"]
    assert control(server, "GET", "/webhook").json()["url"] == receiver.url  # nothing changed

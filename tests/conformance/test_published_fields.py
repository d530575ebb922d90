"""No Partner API answer and no webhook body carries a field its published schema lacks, at any depth.

A receiver generated from the published contract may refuse unknown properties (Jackson's
FAIL_ON_UNKNOWN_PROPERTIES throws on one), so the sandbox says anything more in a header or in the
control API, never in a body. The published field lists are carried here as data, restated from the
published Partner API (1.0.1) and webhook (1.0.0) documents: the project must not read those files.
The tests hold against them: the schemas and examples of openapi.yaml and webhooks.yaml (so response
validation cannot drift), and every success answer of the eight operations and every body of the
eight events that a real server sends."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from partner_sandbox.spec import SpecDocument

from tests.helpers import ROOT, auth_headers, control, free_port


def fields(*plain: str, **nested) -> dict:
    """A schema's published properties: a plain value (string, number, boolean or an array of them)
    maps to None, an object to its schema's name, an array of objects to [its items' schema name]."""
    return {**dict.fromkeys(plain), **nested}


# schema name -> its published properties (Partner API, components/schemas).
PUBLISHED_FIELDS = {
    "PartnerAPIWorkspaceResponse": fields(
        "workspace_id", "display_name", "plan_id", "seats_total", "seats_available", "updated_at", "owner_user_id",
        "group_id", "created_at", suspended_members=["SuspendedMember"]),
    "SuspendedMember": fields("user_id", "whatsapp_account_id", "phone_numbers"),
    "PartnerAPIWorkspaceExtendedResponse": fields(
        "workspace_id", "display_name", seats="PartnerAPIQuota", messages_quota="PartnerAPIQuota",
        api_calls_quota="PartnerAPIQuota", whatsapp_accounts=["PartnerAPIWhatsappAccount"],
        non_recurring_quota="PartnerAPINonRecurringQuota", users=["PartnerAPIUser"], qr_links=["PartnerAPIQRCodeLink"]),
    "PartnerAPIQuota": fields("total", "used", "period_start", "period_end"),
    "PartnerAPIWhatsappAccount": fields(
        "user_id", "connected", "whatsapp_account_id", "phone_number_e164", "connection_status", "connected_at"),
    "PartnerAPINonRecurringQuota": fields("remaining_balance", "last_updated_at"),
    "PartnerAPIUser": fields("user_id", "display_name", "role", "email", "status", "created_at"),
    "PartnerAPIQRCodeLink": fields("qr_link", "user_id", "expires_at"),
    "PartnerAPIUsersResponse": fields("workspace_id", "seats_total", "seats_available", users=["PartnerAPIUser"]),
    "PartnerAPIQRCodeResponse": fields(
        "workspace_id", "user_id", "qr_link", "expires_at", "whatsapp_disconnected", "previous_qr_revoked"),
    "PartnerAPIDisconnectResponse": fields(
        "workspace_id", "user_id", "disconnected", "disconnected_at", "whatsapp_account_id", "phone_number",
        "description"),
    "PartnerAPIPublicTokenResponse": fields("workspace_id", "token", "rotated_at"),
}

# schema name -> its published properties (webhooks, components/schemas): every event body is flat.
WEBHOOK_COMMON = ("workspace_id", "event_type", "partner_id", "triggered_at")
PUBLISHED_EVENT_FIELDS = {
    "PartnerAPIWhSeatsFull": fields(*WEBHOOK_COMMON, "seats_purchased", "seats_available"),
    "PartnerAPIWhMessaging": fields(
        *WEBHOOK_COMMON, "messaging_quota_total", "messaging_quota_used", "utilization_pct", "current_period_start",
        "current_period_end"),
    "PartnerAPIWhTransactions": fields(*WEBHOOK_COMMON, "current_period_start", "current_period_end"),
    "PartnerAPIWhPublicApi": fields(
        *WEBHOOK_COMMON, "api_calls_limit", "api_calls_used", "current_period_start", "current_period_end"),
    # One schema for both events: `disconnected_at` and `reason` are optional, there is no `connected_at`.
    "PartnerAPIWhWhatsappAccount": fields(
        *WEBHOOK_COMMON, "whatsapp_account_id", "phone_number_e164", "user_id", "disconnected_at", "reason"),
    "PartnerAPIWhPublicApiTokenRotated": fields(*WEBHOOK_COMMON, "rotated_at"),
}

# operationId -> (method, path, success status, published schema of the success answer).
OPERATIONS = {
    "workspaceCreate": ("post", "/workspaces", "201", "PartnerAPIWorkspaceResponse"),
    "workspaceGet": ("get", "/workspaces/{workspace_id}", "200", "PartnerAPIWorkspaceExtendedResponse"),
    "workspaceUpdate": ("patch", "/workspaces/{workspace_id}", "200", "PartnerAPIWorkspaceResponse"),
    "workspaceCreateUsers": ("post", "/workspaces/{workspace_id}/users", "201", "PartnerAPIUsersResponse"),
    "userRequestQRLink": ("post", "/workspaces/{workspace_id}/users/{user_id}/qr", "200", "PartnerAPIQRCodeResponse"),
    "disconnectWA": ("post", "/workspaces/{workspace_id}/users/{user_id}/whatsapp/disconnect", "200",
                     "PartnerAPIDisconnectResponse"),
    "getPublicAPIToken": ("get", "/workspaces/{workspace_id}/api-token", "200", "PartnerAPIPublicTokenResponse"),
    "rotatePublicAPIToken": ("post", "/workspaces/{workspace_id}/api-token", "201", "PartnerAPIPublicTokenResponse"),
}

# event name -> the published schema of its body.
EVENTS = {
    "workspace:seats_full": "PartnerAPIWhSeatsFull",
    "workspace:quota_near_full:messaging": "PartnerAPIWhMessaging",
    "workspace:quota_full:messaging": "PartnerAPIWhMessaging",
    "workspace:quota_full:transactions": "PartnerAPIWhTransactions",
    "workspace:quota_full:api_calls": "PartnerAPIWhPublicApi",
    "whatsapp_account:connected": "PartnerAPIWhWhatsappAccount",
    "whatsapp_account:disconnected": "PartnerAPIWhWhatsappAccount",
    "api_token:rotated": "PartnerAPIWhPublicApiTokenRotated",
}


def unpublished(value, schema: str, lists: dict = PUBLISHED_FIELDS, where: str = "$") -> list[str]:
    """Where `value` (a JSON document of `schema`) has a property the published schema lacks, at any depth."""
    if not isinstance(value, dict):
        return [f"{where}: not an object ({schema})"]
    published, found = lists[schema], []
    for name, item in value.items():
        path = f"{where}.{name}"
        if name not in published:
            found.append(f"{path}: {schema} has no {name!r}")
        elif published[name] is None:
            if isinstance(item, dict) or (isinstance(item, list) and any(isinstance(i, (dict, list)) for i in item)):
                found.append(f"{path}: a structure where {schema} has a plain value")
        elif isinstance(published[name], list):
            if not isinstance(item, list):
                found.append(f"{path}: not an array")
                continue
            for i, element in enumerate(item):
                found += unpublished(element, published[name][0], lists, f"{path}[{i}]")
        else:
            found += unpublished(item, published[name], lists, path)
    return found


def test_the_checker_refuses_an_unpublished_field_at_any_depth():
    ok = {"workspace_id": "w", "display_name": "W", "plan_id": 1, "seats_total": 1, "seats_available": 0,
          "suspended_members": [{"user_id": 1, "whatsapp_account_id": 2, "phone_numbers": ["+15550000001"]}]}
    assert unpublished(ok, "PartnerAPIWorkspaceResponse") == []
    assert unpublished({**ok, "seats_used": 1}, "PartnerAPIWorkspaceResponse") == [
        "$.seats_used: PartnerAPIWorkspaceResponse has no 'seats_used'"]
    deep = {**ok, "suspended_members": [{"user_id": 1, "suspended_at": "2024-01-01T00:00:00Z"}]}
    assert unpublished(deep, "PartnerAPIWorkspaceResponse") == [
        "$.suspended_members[0].suspended_at: SuspendedMember has no 'suspended_at'"]
    nested = {"workspace_id": "w", "display_name": "W", "seats": {"total": 1, "used": 1, "free": 0}}
    assert unpublished(nested, "PartnerAPIWorkspaceExtendedResponse") == ["$.seats.free: PartnerAPIQuota has no 'free'"]
    assert unpublished({**ok, "plan_id": {"id": 1}}, "PartnerAPIWorkspaceResponse") == [
        "$.plan_id: a structure where PartnerAPIWorkspaceResponse has a plain value"]
    event = {"workspace_id": "w", "event_type": "whatsapp_account:connected", "partner_id": "p",
             "triggered_at": "2024-01-01T00:00:00.000Z", "whatsapp_account_id": 1, "phone_number_e164": "+15550000001",
             "user_id": 1, "connected_at": "2024-01-01T00:00:00.000Z"}
    assert unpublished(event, "PartnerAPIWhWhatsappAccount", PUBLISHED_EVENT_FIELDS) == [
        "$.connected_at: PartnerAPIWhWhatsappAccount has no 'connected_at'"]


# --- the project's specs: no schema declares, requires or shows a field beyond the published ------

OPENAPI = yaml.safe_load((ROOT / "openapi.yaml").read_text())
WEBHOOKS = yaml.safe_load((ROOT / "webhooks.yaml").read_text())


def _resolve(document: dict, node: dict) -> dict:
    return SpecDocument(document).resolve(node)


def _parts(document: dict, node: dict):
    """The schema and every subschema that adds to the same object (allOf, anyOf, oneOf, if/then/else)."""
    node = _resolve(document, node)
    yield node
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(key, []):
            yield from _parts(document, sub)
    for key in ("if", "then", "else"):
        if key in node:
            yield from _parts(document, node[key])


def undeclared(document: dict, node: dict, schema: str, lists: dict, where: str = "$") -> list[str]:
    """What the spec's schema `node` declares beyond the published `schema`: properties, required
    names, additional properties, at any depth."""
    published, found, properties = lists[schema], [], {}
    for part in _parts(document, node):
        properties.update(part.get("properties", {}))
        found += [f"{where}: requires {name!r}, not in {schema}" for name in part.get("required", [])
                  if name not in published]
        if part.get("additionalProperties", False) is not False:
            found.append(f"{where}: allows additional properties, not in {schema}")
    for name, sub in properties.items():
        path = f"{where}.{name}"
        if name not in published:
            found.append(f"{path}: {schema} has no {name!r}")
            continue
        sub = _resolve(document, sub)
        if published[name] is None:
            if "properties" in sub or "properties" in _resolve(document, sub.get("items", {})):
                found.append(f"{path}: an object where {schema} has a plain value")
        elif isinstance(published[name], list):
            assert sub.get("type") == "array", path
            found += undeclared(document, sub["items"], published[name][0], lists, f"{path}[]")
        else:
            found += undeclared(document, sub, published[name], lists, path)
    return found


def _success(operation_id: str) -> dict:
    method, path, status, _ = OPERATIONS[operation_id]
    operation = OPENAPI["paths"][path][method]
    assert operation["operationId"] == operation_id
    assert [s for s in operation["responses"] if s.startswith("2")] == [status]
    return _resolve(OPENAPI, operation["responses"][status])["content"]["application/json"]


def _examples(document: dict, media: dict) -> list:
    found = [media["example"]] if "example" in media else []
    return found + [_resolve(document, ex)["value"] for ex in (media.get("examples") or {}).values()]


@pytest.mark.parametrize("operation_id", list(OPERATIONS))
def test_openapi_yaml_declares_no_field_beyond_the_published(operation_id):
    media = _success(operation_id)
    schema = OPERATIONS[operation_id][3]
    assert media["schema"] == {"$ref": f"#/components/schemas/{schema}"}
    assert undeclared(OPENAPI, media["schema"], schema, PUBLISHED_FIELDS) == []


@pytest.mark.parametrize("operation_id", list(OPERATIONS))
def test_openapi_yaml_success_examples_carry_no_unpublished_field(operation_id):
    """`Prefer: example=` serves these, so they are answers too."""
    media = _success(operation_id)
    examples = _examples(OPENAPI, media)
    assert examples
    for example in examples:
        assert unpublished(example, OPERATIONS[operation_id][3]) == [], example


@pytest.mark.parametrize("event", list(EVENTS))
def test_webhooks_yaml_declares_no_field_beyond_the_published(event):
    media = WEBHOOKS["webhooks"][event]["post"]["requestBody"]["content"]["application/json"]
    assert media["schema"] == {"$ref": f"#/components/schemas/{EVENTS[event]}"}
    assert undeclared(WEBHOOKS, media["schema"], EVENTS[event], PUBLISHED_EVENT_FIELDS) == []


@pytest.mark.parametrize("event", list(EVENTS))
def test_webhooks_yaml_examples_carry_no_unpublished_field(event):
    media = WEBHOOKS["webhooks"][event]["post"]["requestBody"]["content"]["application/json"]
    examples = _examples(WEBHOOKS, media)
    assert examples
    for example in examples:
        assert unpublished(example, EVENTS[event], PUBLISHED_EVENT_FIELDS) == [], example


# --- a real server: every success answer and every webhook body it sends --------------------------

API = "/partner/api/v1/workspaces"
WS = "published-fields"


class Receiver:
    """A webhook receiver on loopback that keeps every body it is sent (answering 204)."""

    def __init__(self):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/hooks"
        self.bodies: list[dict] = []
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def server(start_module_app):
    return start_module_app("--webhook-backoff", "0.1")


@pytest.fixture(scope="module")
def world(server):
    """Drive every operation through the answers with the most in them (nested objects filled), and
    all eight events; returns ({operationId: [answer bodies]}, [webhook bodies])."""
    receiver = Receiver()
    try:
        assert control(server, "PUT", "/webhook", json={"url": receiver.url}).status_code == 200
        answers = {operation_id: [] for operation_id in OPERATIONS}

        def call(operation_id, workspace=WS, user=None, **kwargs):
            method, path, status, _ = OPERATIONS[operation_id]
            headers = {**auth_headers(), **kwargs.pop("headers", {})}
            r = server.client.request(method.upper(), API + path.removeprefix("/workspaces").format(
                workspace_id=workspace, user_id=user), headers=headers, **kwargs)
            assert str(r.status_code) == status, r.text
            answers[operation_id].append(r.json())
            return r.json()

        def scan(user):
            assert control(server, "POST", f"/workspaces/{WS}/users/{user}/scan").status_code == 200

        def use(**amount):
            assert control(server, "POST", f"/workspaces/{WS}/usage", json=amount).status_code == 200

        created = call("workspaceCreate", json={"display_name": "Published-Fields", "seats_purchased": 3})
        assert created["workspace_id"] == WS
        first, second = (u["user_id"] for u in call("workspaceCreateUsers", json={"count": 2})["users"])  # seats full
        call("userRequestQRLink", user=first)
        scan(first)  # connected
        reissued = call("userRequestQRLink", user=first, json={"expires_in_hours": 168})  # disconnected
        assert reissued["whatsapp_disconnected"] is True
        call("userRequestQRLink", user=first, headers={"Prefer": "delay=1"})  # through connexion, not the fast lane
        scan(first)  # connected
        assert call("disconnectWA", user=first)["disconnected"] is True  # disconnected
        assert call("disconnectWA", user=first)["disconnected"] is False
        call("userRequestQRLink", user=first)
        scan(first)  # connected
        call("userRequestQRLink", user=second)  # an active link, for qr_links
        use(messages=900)  # 90%
        use(messages=100)  # 100%
        use(transactions=1)  # the non-recurring balance is spent
        use(api_calls=10_000)  # 100%
        details = call("workspaceGet")
        assert details["whatsapp_accounts"] and details["qr_links"]
        assert "last_updated_at" in details["non_recurring_quota"]
        call("workspaceGet", workspace="my-first-workspace")  # the fixtures' account, link and suspended user
        call("getPublicAPIToken")
        assert "rotated_at" in call("rotatePublicAPIToken")  # rotated
        call("getPublicAPIToken")
        call("workspaceUpdate", json={"display_name": "Published-Fields-Renamed"})
        call("workspaceUpdate")  # no body: nothing changes
        downgraded = call("workspaceUpdate", json={"seats_purchased": 1})  # disconnected (suspended)
        assert {m["user_id"] for m in downgraded["suspended_members"]} == {first, second}
        assert any("whatsapp_account_id" in m for m in downgraded["suspended_members"])
        call("workspaceGet")
        call("disconnectWA", user=first)  # a suspended user: a no-op
        call("workspaceCreate", json={"display_name": "One-Seat", "seats_purchased": 1})

        deadline = time.monotonic() + 20
        while ({b["event_type"] for b in receiver.bodies} != set(EVENTS) or len(receiver.bodies) < 13) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        return answers, list(receiver.bodies)
    finally:
        receiver.stop()


@pytest.mark.parametrize("operation_id", list(OPERATIONS))
def test_every_success_answer_carries_only_published_fields(world, operation_id):
    answers, _ = world
    assert answers[operation_id]
    for body in answers[operation_id]:
        assert unpublished(body, OPERATIONS[operation_id][3]) == [], body


@pytest.mark.parametrize("event", list(EVENTS))
def test_every_webhook_body_carries_only_published_fields(world, event):
    _, bodies = world
    sent = [b for b in bodies if b["event_type"] == event]
    assert sent, [b["event_type"] for b in bodies]
    for body in sent:
        assert unpublished(body, EVENTS[event], PUBLISHED_EVENT_FIELDS) == [], body


def test_the_world_sent_each_cause_of_an_account_event(world):
    _, bodies = world
    reasons = sorted(b.get("reason", "") for b in bodies if b["event_type"].startswith("whatsapp_account:"))
    assert len(reasons) == 6 and len(set(reasons)) == 4, reasons  # scans; new link, disconnectWA, suspension


@pytest.mark.parametrize("operation_id", list(OPERATIONS))
def test_forced_success_answers_carry_only_published_fields(server, operation_id):
    method, path, status, schema = OPERATIONS[operation_id]
    url = API + path.removeprefix("/workspaces").format(workspace_id="qa-workspace", user_id=1)
    r = server.client.request(method.upper(), url, headers={**auth_headers(), "Prefer": f"code={status}"})
    assert str(r.status_code) == status, r.text
    assert unpublished(r.json(), schema) == [], r.json()

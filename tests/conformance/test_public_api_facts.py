"""public_api.yaml agrees with the published Public API (1.3.0) on every fact of its six operations,
and the sandbox's answers carry only published fields, of the published types, with every required one.

The published facts are carried here as data, restated from the published document (the project
must not read it): each schema's properties (a plain type, the name of a schema, or ["array", item]),
its required list, the operations' paths, bodies and success schemas, the error codes."""

from __future__ import annotations

import pytest
import yaml

from tests.helpers import ROOT, auth_headers

SPEC = yaml.safe_load((ROOT / "public_api.yaml").read_text())
SCHEMAS = SPEC["components"]["schemas"]
ARRAY = "array"


def schema(required: str = "", **properties) -> dict:
    return {"required": sorted(required.split()), "properties": properties}


MESSAGE_INFO = {
    "uid": "string", "chat_id": "integer", "timestamp": "string", "received_timestamp": "string", "sender_phone": "string",
    "sender_name": "string", "recipient_phone": "string", "recipient_name": "string", "from_me": "boolean", "text": "string",
    "attachment_url": "string", "attachment_filename": "string", "status": "string", "origin": "string",
    "has_attachment": "boolean", "message_type": "string", "reactions": "MessageReactionsObject", "data": "object",
    "created_by": "string", "failure_reason": "object"}
WHATSAPP_ACCOUNT = {"id": "string", "phone": "string", "connected_on": "string", "status": "string", "owner_name": "string",
                        "owner_email": "string", "account_name": "string"}

PUBLISHED = {
    "Message": schema(text="string", file_uid="string", label="Label", chat_name="string",
                      attachment_template_id="integer"),
    "MessageID": schema("message_uid", message_uid="string"),
    "MessageReactionUser": schema("name phone reaction current", name="string", phone="string", reaction="string",
                                  current="boolean"),
    "MessageReactionsObject": schema("users reactions total", users=[ARRAY, "MessageReactionUser"],
                                     reactions="object", total="integer"),
    "MessageInfo": schema("uid chat_id timestamp received_timestamp sender_phone sender_name recipient_phone"
                          " recipient_name from_me status origin has_attachment message_type data created_by",
                          **MESSAGE_INFO),
    "MessageStatusHistoryRecord": schema("status timestamp", status="string", timestamp="string",
                                         failure_reason="object"),
    "WhatsappAccountItem": schema("id phone connected_on status owner_name owner_email account_name",
                                  **WHATSAPP_ACCOUNT),
    "WhatsappAccountsList": schema("whatsapp_accounts", whatsapp_accounts=[ARRAY, "WhatsappAccountItem"]),
    "WorkspaceTeamsItem": schema("title", title="string"),
    "WorkspaceTeammatesItem": schema("user_id display_name email role team status created_at", user_id="integer",
                                     display_name="string", email="string", role="string", team="string",
                                     status="string", invitation_status="string", created_at="string",
                                     whatsapp_accounts=[ARRAY, "WhatsappAccountItem"]),
    "WorkspaceTeammatesList": schema(teams=[ARRAY, "WorkspaceTeamsItem"],
                                     teammates=[ARRAY, "WorkspaceTeammatesItem"]),
    "Quota": schema("total used", total="integer", used="integer", period_start="string", period_end="string"),
    "NonRecurringQuota": schema(remaining_balance="integer", last_updated_at="string"),
    "WorkspaceInfo": schema("workspace_id display_name plan messaging_quota api_calls_quota", workspace_id="string",
                            display_name="string", plan="string", seats="Quota", messaging_quota="Quota",
                            api_calls_quota="Quota", non_recurring_quota="NonRecurringQuota"),
    "ErrorResponse": schema("message status", message="string", status="string", error_code="string",
                            errors=[ARRAY, "ValidationError"]),
    "ValidationError": schema("fields msg", fields=[ARRAY, "string"], msg="string"),
    "MessageInfoResponse": schema("status data", status="string", data="MessageInfo"),
    "MessageStatusHistoryResponse": schema("status data", status="string", data=[ARRAY, "MessageStatusHistoryRecord"]),
    "MessageSendResponse": schema("status data", status="string", data="MessageID"),
    "WhatsappAccountsResponse": schema("status data", status="string", data="WhatsappAccountsList"),
    "WorkspaceTeammatesResponse": schema("status data", status="string", data="WorkspaceTeammatesList"),
    "WorkspaceInfoResponse": schema("status data", status="string", data="WorkspaceInfo"),
}
# MessageToPhone: allOf of {phone (required), whatsapp_account_phone} and Message.
MESSAGE_TO_PHONE = schema("phone", phone="string", whatsapp_account_phone="string")
MAX_LENGTHS = {("Message", "text"): 2000, ("Message", "chat_name"): 256}
LABEL = {"type": "string", "maxLength": 64}
NULLABLE = {("MessageInfo", "failure_reason"), ("MessageStatusHistoryRecord", "failure_reason")}
ERROR_CODES = ["missing_credentials", "invalid_token", "member_not_found", "permission_denied", "insufficient_scope",
               "plan_feature_unavailable", "quota_exceeded", "rate_limit_exceeded", "validation_error", "not_found",
               "account_inactive", "template_not_approved", "template_wrong_waba", "template_variables_mismatch",
               "service_window_closed", "not_supported", "internal_error"]
# (method, path) -> (request body schema, success status, success schema); the published error
# responses of each: 400, 401, 403, 404 (the sandbox adds 429, its documented quota refusal).
OPERATIONS = {
    ("get", "/whatsapp_accounts"): (None, "200", "WhatsappAccountsResponse"),
    ("get", "/workspace"): (None, "200", "WorkspaceInfoResponse"),
    ("get", "/workspace/teammates"): (None, "200", "WorkspaceTeammatesResponse"),
    ("post", "/messages"): ("MessageToPhone", "200", "MessageSendResponse"),
    ("get", "/messages/{message_uid}"): (None, "200", "MessageInfoResponse"),
    ("get", "/messages/{message_uid}/status_history"): (None, "200", "MessageStatusHistoryResponse"),
}
PUBLISHED_ERRORS = {"400", "401", "403", "404"}
BASE_PATH = "/integrations/api"


def _kind(node: dict):
    if "$ref" in node:
        return node["$ref"].rsplit("/", 1)[1]
    if node.get("type") == "array":
        return [ARRAY, _kind(node["items"])]
    return node.get("type")


def _facts(node: dict) -> dict:
    return {"required": sorted(node.get("required", [])),
            "properties": {name: _kind(prop) for name, prop in node.get("properties", {}).items()}}


def resolve(node: dict) -> dict:
    while "$ref" in node:
        node = SCHEMAS[node["$ref"].rsplit("/", 1)[1]]
    return node


# --- the spec --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", PUBLISHED)
def test_each_schema_has_the_published_fields_types_and_required_list(name):
    assert SCHEMAS[name]["type"] == "object"
    assert _facts(SCHEMAS[name]) == PUBLISHED[name]


def test_the_schemas_other_facts():
    parts = SCHEMAS["MessageToPhone"]["allOf"]
    assert _facts(parts[0]) == MESSAGE_TO_PHONE and parts[1] == {"$ref": "#/components/schemas/Message"}
    assert {k: SCHEMAS["Label"][k] for k in ("type", "maxLength")} == LABEL
    for (name, field), length in MAX_LENGTHS.items():
        assert SCHEMAS[name]["properties"][field]["maxLength"] == length
    for name, field in NULLABLE:
        assert SCHEMAS[name]["properties"][field]["nullable"] is True
    assert SCHEMAS["ErrorResponse"]["properties"]["error_code"]["enum"] == ERROR_CODES
    for name in PUBLISHED:
        if name.endswith("Response") and name != "ErrorResponse":
            assert SCHEMAS[name]["properties"]["status"]["enum"] == ["ok", "error"]
    assert SCHEMAS["ErrorResponse"]["properties"]["status"]["enum"] == ["ok", "error"]


def test_the_operations_paths_bodies_and_answers():
    found = {(method, path): op for path, item in SPEC["paths"].items() for method, op in item.items()}
    assert set(found) == set(OPERATIONS)
    for key, (body, status, answer) in OPERATIONS.items():
        op = found[key]
        if body is None:
            assert "requestBody" not in op
        else:
            assert op["requestBody"]["required"] is True
            assert op["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/" + body)
        ok = op["responses"][status]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{answer}"}
        assert set(op["responses"]) >= PUBLISHED_ERRORS, key
        for code, response in op["responses"].items():
            if code != status:
                media = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]["content"]
                assert media["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}
        params = [SPEC["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]] for p in op.get("parameters", [])]
        expected = [("message_uid", "path", True, "string")] if "{message_uid}" in key[1] else []
        assert [(p["name"], p["in"], p["required"], p["schema"]["type"]) for p in params] == expected


def test_the_server_and_security_are_the_published_ones():
    assert SPEC["openapi"].startswith("3.0.") and SPEC["info"]["version"] == "1.3.0"
    assert SPEC["servers"][0]["url"] == BASE_PATH
    assert SPEC["security"] == [{"bearerAuth": []}]
    scheme = SPEC["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")


# --- the answers -------------------------------------------------------------------------------------------

def check(value, kind, where="body") -> None:
    """The value is of the published kind: a schema's fields only, its required ones all there."""
    if isinstance(kind, list):
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            check(item, kind[1], f"{where}[{i}]")
    elif kind in PUBLISHED:
        facts = PUBLISHED[kind]
        assert isinstance(value, dict), where
        assert set(value) <= set(facts["properties"]), (where, set(value) - set(facts["properties"]))
        assert set(facts["required"]) <= set(value), (where, set(facts["required"]) - set(value))
        for name, item in value.items():
            if item is None and (kind, name) in NULLABLE:
                continue
            check(item, facts["properties"][name], f"{where}.{name}")
    else:
        types = {"string": str, "integer": int, "boolean": bool, "object": dict}
        assert isinstance(value, types[kind]) and not (kind == "integer" and isinstance(value, bool)), (where, value)


def test_every_answer_carries_the_published_fields_only(sandbox):
    r = sandbox.client.get("/partner/api/v1/workspaces/qa-connected/api-token", headers=auth_headers())
    headers = {"Authorization": f"Bearer {r.json()['token']}"}
    client = sandbox.client
    sent = client.post(BASE_PATH + "/messages", headers=headers,
                       json={"phone": "+14840000000", "text": "x", "file_uid": "f", "label": "l", "chat_name": "c"})
    check(sent.json(), "MessageSendResponse")
    uid = sent.json()["data"]["message_uid"]
    answers = {
        "/whatsapp_accounts": "WhatsappAccountsResponse",
        "/workspace": "WorkspaceInfoResponse",
        "/workspace/teammates": "WorkspaceTeammatesResponse",
        f"/messages/{uid}": "MessageInfoResponse",
        f"/messages/{uid}/status_history": "MessageStatusHistoryResponse",
    }
    for path, name in answers.items():
        r = client.get(BASE_PATH + path, headers=headers)
        assert r.status_code == 200, r.text
        check(r.json(), name)
    for r in (client.get(BASE_PATH + "/workspace"), client.get(BASE_PATH + "/messages/none", headers=headers),
              client.post(BASE_PATH + "/messages", headers=headers, json={"phone": 1})):
        check(r.json(), "ErrorResponse")
        assert r.json()["error_code"] in ERROR_CODES

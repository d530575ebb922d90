"""openapi.yaml agrees with the published Partner API contract on every fact a client depends on.

The facts are carried here as data, restated from the published OpenAPI document (version 1.0.1):
the project must not read the published file, and a test that compares must say what it compares.
Each operation the sandbox serves is listed; the list grows as operations are added."""

from __future__ import annotations

import pytest
import yaml

from partner_sandbox.resources import spec_path
from partner_sandbox.spec import SpecDocument

SPEC = SpecDocument(yaml.safe_load(spec_path().read_text()))

BASE_PATH = "/partner/api/v1"
PUBLISHED_TAGS = {"workspaces", "users", "whatsappAccounts", "qr", "publicAPI"}

P = ("X-TL-Partner-Id", "header")
W = ("workspace_id", "path")

# (method, path) -> what the published contract says of the operation.
OPERATIONS = {
    ("post", "/workspaces"): {
        "operationId": "workspaceCreate",
        "tags": ["workspaces"],
        "parameters": {P: ("string", True)},
        "request": ("PartnerAPIWorkspaceCreateRequest", True),
        "success": ("201", "PartnerAPIWorkspaceResponse"),
        "success_headers": ["X-TL-API-Version"],
        "errors": {"409": "PartnerAPIError"},
    },
    ("get", "/workspaces/{workspace_id}"): {
        "operationId": "workspaceGet",
        "tags": ["workspaces"],
        "parameters": {P: ("string", True), W: ("string", True)},
        "request": None,
        "success": ("200", "PartnerAPIWorkspaceExtendedResponse"),
        "success_headers": ["X-TL-API-Version"],
        "errors": {"404": "PartnerAPIError"},
    },
    ("patch", "/workspaces/{workspace_id}"): {
        "operationId": "workspaceUpdate",
        "tags": ["workspaces"],
        "parameters": {P: ("string", True), W: ("string", True)},
        "request": ("PartnerAPIWorkspaceRequest", False),
        "success": ("200", "PartnerAPIWorkspaceResponse"),
        "success_headers": ["X-TL-API-Version"],
        "errors": {"404": "PartnerAPIError"},
    },
    ("post", "/workspaces/{workspace_id}/users"): {
        "operationId": "workspaceCreateUsers",
        "tags": ["workspaces", "users"],
        "parameters": {P: ("string", True), W: ("string", True)},
        "request": ("PartnerAPIUserRequest", True),
        "success": ("201", "PartnerAPIUsersResponse"),
        "success_headers": ["X-TL-API-Version"],
        "errors": {"409": "PartnerAPIError"},
    },
    ("post", "/workspaces/{workspace_id}/users/{user_id}/qr"): {
        "operationId": "userRequestQRLink",
        "tags": ["qr"],
        "parameters": {  # (name, in) -> (type, required)
            ("X-TL-Partner-Id", "header"): ("string", True),
            ("workspace_id", "path"): ("string", True),
            ("user_id", "path"): ("integer", True),
        },
        "request": ("PartnerAPIExpiresRequest", False),  # (schema, body required)
        "success": ("200", "PartnerAPIQRCodeResponse"),
        "success_headers": ["X-TL-API-Version"],
        "errors": {"404": "PartnerAPIError"},
    },
    ("post", "/workspaces/{workspace_id}/users/{user_id}/whatsapp/disconnect"): {
        "operationId": "disconnectWA",
        "tags": ["whatsappAccounts"],
        "parameters": {
            ("X-TL-Partner-Id", "header"): ("string", True),
            ("workspace_id", "path"): ("string", True),
            ("user_id", "path"): ("integer", True),
        },
        "request": None,
        "success": ("200", "PartnerAPIDisconnectResponse"),
        "success_headers": ["X-TL-API-Version"],
        "errors": {"404": "PartnerAPIError"},
    },
    ("get", "/workspaces/{workspace_id}/api-token"): {
        "operationId": "getPublicAPIToken",
        "tags": ["publicAPI"],
        "parameters": {("X-TL-Partner-Id", "header"): ("string", True), ("workspace_id", "path"): ("string", True)},
        "request": None,
        "success": ("200", "PartnerAPIPublicTokenResponse"),
        "success_headers": ["X-TL-API-Version"],
        "errors": {},
    },
    ("post", "/workspaces/{workspace_id}/api-token"): {
        "operationId": "rotatePublicAPIToken",
        "tags": ["publicAPI"],
        "parameters": {("X-TL-Partner-Id", "header"): ("string", True), ("workspace_id", "path"): ("string", True)},
        "request": None,
        "success": ("201", "PartnerAPIPublicTokenResponse"),
        "success_headers": [],
        "errors": {},
    },
}

DATE_TIME = {"type": "string", "format": "date-time"}
QUOTA = {"$ref": "#/components/schemas/PartnerAPIQuota"}

# schema -> {property: {facts}}, and its required properties.
SCHEMAS = {
    "PartnerAPIWorkspaceCreateRequest": (
        {"display_name": {"type": "string", "minLength": 1, "maxLength": 100},
         "seats_purchased": {"type": "integer", "minimum": 1, "maximum": 999, "default": 1}},
        {"display_name", "seats_purchased"},
    ),
    "PartnerAPIWorkspaceRequest": (
        {"display_name": {"type": "string", "minLength": 1, "maxLength": 100},
         "seats_purchased": {"type": "integer", "minimum": 1, "maximum": 999}},
        set(),
    ),
    "PartnerAPIWorkspaceResponse": (
        {"workspace_id": {"type": "string"}, "display_name": {"type": "string"}, "plan_id": {"type": "integer"},
         "seats_total": {"type": "integer"}, "seats_available": {"type": "integer"}, "updated_at": DATE_TIME,
         "owner_user_id": {"type": "integer"}, "group_id": {"type": "integer"}, "created_at": DATE_TIME,
         "suspended_members": {"type": "array", "items": {"$ref": "#/components/schemas/SuspendedMember"}}},
        {"workspace_id", "display_name", "plan_id", "seats_total", "seats_available"},
    ),
    "PartnerAPIWorkspaceExtendedResponse": (
        {"workspace_id": {"type": "string"}, "display_name": {"type": "string"}, "seats": QUOTA,
         "messages_quota": QUOTA, "api_calls_quota": QUOTA,
         "whatsapp_accounts": {"type": "array", "items": {"$ref": "#/components/schemas/PartnerAPIWhatsappAccount"}},
         "non_recurring_quota": {"$ref": "#/components/schemas/PartnerAPINonRecurringQuota"},
         "users": {"type": "array", "items": {"$ref": "#/components/schemas/PartnerAPIUser"}},
         "qr_links": {"type": "array", "items": {"$ref": "#/components/schemas/PartnerAPIQRCodeLink"}}},
        {"workspace_id", "display_name", "seats", "messages_quota", "api_calls_quota", "non_recurring_quota", "users"},
    ),
    "PartnerAPIUserRequest": ({"count": {"type": "integer", "minimum": 1, "maximum": 99}}, {"count"}),
    "PartnerAPIUsersResponse": (
        {"workspace_id": {"type": "string"}, "seats_total": {"type": "integer"}, "seats_available": {"type": "integer"},
         "users": {"type": "array", "items": {"$ref": "#/components/schemas/PartnerAPIUser"}}},
        {"workspace_id", "seats_total", "seats_available", "users"},
    ),
    "SuspendedMember": (
        {"user_id": {"type": "integer"}, "whatsapp_account_id": {"type": "integer"},
         "phone_numbers": {"type": "array", "items": {"type": "string"}}},
        {"user_id"},
    ),
    "PartnerAPIQuota": (
        {"total": {"type": "integer"}, "used": {"type": "integer"}, "period_start": DATE_TIME, "period_end": DATE_TIME},
        {"total", "used"},
    ),
    "PartnerAPIWhatsappAccount": (
        {"user_id": {"type": "integer"}, "connected": {"type": "boolean"}, "whatsapp_account_id": {"type": "integer"},
         "phone_number_e164": {"type": "string"}, "connection_status": {"type": "string"}, "connected_at": DATE_TIME},
        {"connected", "whatsapp_account_id", "phone_number_e164", "connection_status"},
    ),
    "PartnerAPINonRecurringQuota": (
        {"remaining_balance": {"type": "integer"}, "last_updated_at": DATE_TIME},
        set(),
    ),
    "PartnerAPIUser": (
        {"user_id": {"type": "integer"}, "display_name": {"type": "string"}, "role": {"type": "string"},
         "email": {"type": "string"}, "status": {"type": "string"}, "created_at": DATE_TIME},
        {"user_id", "display_name", "email", "status", "created_at"},
    ),
    "PartnerAPIQRCodeLink": (
        {"qr_link": {"type": "string"}, "user_id": {"type": "integer"}, "expires_at": DATE_TIME},
        {"qr_link", "user_id", "expires_at"},
    ),
    "PartnerAPIExpiresRequest": (
        {"expires_in_hours": {"type": "integer", "minimum": 1, "maximum": 168, "default": 24}},
        set(),
    ),
    "PartnerAPIQRCodeResponse": (
        {
            "workspace_id": {"type": "string"},
            "user_id": {"type": "integer"},
            "qr_link": {"type": "string"},
            "expires_at": {"type": "string", "format": "date-time"},
            "whatsapp_disconnected": {"type": "boolean"},
            "previous_qr_revoked": {"type": "boolean"},
        },
        {"workspace_id", "user_id", "qr_link", "expires_at", "whatsapp_disconnected", "previous_qr_revoked"},
    ),
    "PartnerAPIDisconnectResponse": (
        {
            "workspace_id": {"type": "string"},
            "user_id": {"type": "integer"},
            "disconnected": {"type": "boolean", "default": True},
            "disconnected_at": {"type": "string", "format": "date-time"},
            "whatsapp_account_id": {"type": "integer"},
            "phone_number": {"type": "string"},
            "description": {"type": "string"},
        },
        set(),
    ),
    "PartnerAPIPublicTokenResponse": (
        {"workspace_id": {"type": "string"}, "token": {"type": "string"},
         "rotated_at": {"type": "string", "format": "date-time"}},
        {"workspace_id", "token"},
    ),
    "PartnerAPIError": (
        {"error": {"type": "string"}, "status": {"type": "integer"}, "description": {"type": "string"}},
        {"error", "status"},
    ),
}


def ours(method: str, path: str) -> dict:
    operation = (SPEC.raw["paths"].get(path) or {}).get(method)
    assert operation is not None, f"{method.upper()} {path} is not in openapi.yaml"
    return operation


def schema_name(node: dict) -> str:
    ref = node.get("$ref", "")
    assert ref.startswith("#/components/schemas/"), f"not a named schema: {node}"
    return ref.rsplit("/", 1)[1]


def test_base_path_and_security():
    assert SPEC.base_path == BASE_PATH
    scheme = SPEC.raw["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert SPEC.raw["security"] == [{"bearerAuth": []}]


def test_tags_are_published_ones():
    assert {t["name"] for t in SPEC.raw["tags"]} <= PUBLISHED_TAGS
    used = {tag for _, _, _, op in SPEC.operations() for tag in op.get("tags", [])}
    assert used <= PUBLISHED_TAGS


def test_every_operation_of_ours_is_a_published_one():
    served = {(method, path) for _, path, method, _ in SPEC.operations()}
    assert served == set(OPERATIONS)


@pytest.mark.parametrize("method, path", list(OPERATIONS), ids=[v["operationId"] for v in OPERATIONS.values()])
def test_operation_facts(method, path):
    facts = OPERATIONS[(method, path)]
    op = ours(method, path)
    assert op["operationId"] == facts["operationId"]
    assert op["tags"] == facts["tags"]
    params = {(p["name"], p["in"]): p for p in map(SPEC.resolve, op.get("parameters", []))}
    assert set(params) == set(facts["parameters"])
    for key, (type_, required) in facts["parameters"].items():
        assert (params[key]["schema"]["type"], params[key].get("required", False)) == (type_, required), key
    if facts.get("request"):
        name, required = facts["request"]
        body = op["requestBody"]
        assert body.get("required", False) is required
        assert schema_name(body["content"]["application/json"]["schema"]) == name
    else:
        assert "requestBody" not in op
    status, name = facts["success"]
    success = [s for s in op["responses"] if s.startswith("2")]
    assert success == [status]
    response = SPEC.resolve(op["responses"][status])
    assert schema_name(response["content"]["application/json"]["schema"]) == name
    assert set(facts["success_headers"]) <= set(response.get("headers", {}))
    for error_status, error_schema in facts["errors"].items():
        media = SPEC.resolve(op["responses"][error_status])["content"]["application/json"]
        assert schema_name(media["schema"]) == error_schema


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_schema_facts(name):
    properties, required = SCHEMAS[name]
    schema = SPEC.raw["components"]["schemas"].get(name)
    assert schema is not None, f"schema {name} is not in openapi.yaml"
    assert schema["type"] == "object"
    assert set(schema["properties"]) == set(properties)  # no field more or less: the same generated model
    assert set(schema.get("required", [])) == required
    for field, facts in properties.items():
        mine = schema["properties"][field] if "$ref" in facts else SPEC.resolve(schema["properties"][field])
        for key, value in facts.items():
            assert mine.get(key) == value, f"{name}.{field}.{key}: {mine.get(key)!r}, published {value!r}"
        if "format" not in facts and "$ref" not in facts:  # a format the publication lacks must not change the type
            assert mine.get("format") in (None, "uri", "int64"), f"{name}.{field}"

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

# (method, path) -> what the published contract says of the operation.
OPERATIONS = {
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

# schema -> {property: {facts}}, and its required properties.
SCHEMAS = {
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
        mine = SPEC.resolve(schema["properties"][field])
        for key, value in facts.items():
            assert mine.get(key) == value, f"{name}.{field}.{key}: {mine.get(key)!r}, published {value!r}"
        if "format" not in facts:  # a format the publication lacks must not change the type a client sees
            assert mine.get("format") in (None, "uri", "int64"), f"{name}.{field}"

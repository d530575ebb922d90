"""openapi.yaml itself: a valid OpenAPI document whose examples fit their schemas, documenting every error."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate
from openapi_schema_validator import OAS30Validator

from partner_sandbox.errors import CODES
from partner_sandbox.resources import spec_path

SPEC = yaml.safe_load(spec_path().read_text())
OPERATION = SPEC["paths"]["/workspaces/{workspace_id}/users/{user_id}/qr"]["post"]


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        target = SPEC
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def deref(node):
    """The schema with every $ref inlined (the spec has no recursive schemas)."""
    node = resolve(node)
    if isinstance(node, dict):
        return {k: deref(v) for k, v in node.items()}
    if isinstance(node, list):
        return [deref(v) for v in node]
    return node


def examples():
    """(where, schema, example) for every example in the document: media types, parameters,
    headers (their `schema`) and schema objects (themselves)."""
    found = []

    def walk(node, where):
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{where}/{i}")
            return
        if not isinstance(node, dict):
            return
        if "example" in node:
            schema = node["schema"] if "schema" in node else node
            found.append((where + "/example", schema, node["example"]))
        if "examples" in node and "schema" in node:
            for name, ex in node["examples"].items():
                found.append((f"{where}/examples/{name}", node["schema"], resolve(ex)["value"]))
        for key, value in node.items():
            if key not in ("example", "examples"):
                walk(value, f"{where}/{key}")

    walk(SPEC, "#")
    return found


def test_openapi_spec_validator_accepts_it():
    validate(SPEC)
    assert SPEC["openapi"] == "3.0.3"
    assert SPEC["servers"] == [{"url": "/partner/api/v1"}]


EXAMPLES = examples()


def test_the_spec_has_examples_to_check():
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize("where, schema, example", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_validates_against_its_schema(where, schema, example):
    OAS30Validator(deref(schema), format_checker=OAS30Validator.FORMAT_CHECKER).validate(example)


def test_a_wrong_example_would_be_caught():
    schema = SPEC["components"]["schemas"]["QrLinkRequest"]
    with pytest.raises(jsonschema.ValidationError):
        OAS30Validator(deref(schema)).validate({"expires_in_hours": 0})


def test_every_problem_code_is_documented_with_its_status():
    text = spec_path().read_text()
    for code, (status, _title) in CODES.items():
        assert f"`{code}`" in text, f"code {code} is not documented in openapi.yaml"
        if status != 405:  # 405 answers a method the spec has no operation for
            assert str(status) in OPERATION["responses"], f"status {status} is not a documented response"


def test_every_documented_error_uses_the_problem_schema_with_an_example():
    for status, response in OPERATION["responses"].items():
        if status.startswith("2"):
            continue
        content = resolve(response)["content"]
        assert list(content) == ["application/problem+json"], status
        assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
        assert "example" in content["application/problem+json"] or "examples" in content["application/problem+json"]


def test_the_response_example_is_the_seeds():
    example = OPERATION["responses"]["200"]["content"]["application/json"]["example"]
    assert example["workspace_id"] == "my-first-workspace" and example["user_id"] == 42
    assert example["expires_at"] == "2024-01-01T12:00:00Z"
    assert set(resolve(OPERATION["responses"]["200"]["content"]["application/json"]["schema"])["required"]) == {
        "workspace_id", "user_id", "qr_link", "expires_at", "whatsapp_disconnected", "previous_qr_revoked"}


def test_request_body_is_optional_with_the_documented_range_and_default():
    body = OPERATION["requestBody"]
    assert body["required"] is False
    field = resolve(body["content"]["application/json"]["schema"])["properties"]["expires_in_hours"]
    assert (field["type"], field["minimum"], field["maximum"], field["default"]) == ("integer", 1, 168, 24)

"""Responses are validated by a compiled (Rust) validator plugged into connexion's validator_map: the
OpenAPI 3.0 schema read as JSON Schema (nullable allows null), compiled once per schema, and a
non-conforming body refused as connexion refuses it (a 500 for the client, never the body)."""

from __future__ import annotations

import pytest
from connexion.exceptions import NonConformingResponseBody

from partner_sandbox.resources import spec_path
from partner_sandbox.spec import SpecDocument
from partner_sandbox.web.validation import CompiledResponseSchemas, CompiledSchemas, json_schema, validator_map

SCHEMA = {
    "type": "object",
    "required": ["id", "closed_at"],
    "properties": {
        "id": {"type": "integer"},
        "closed_at": {"type": "string", "format": "date-time", "nullable": True},
        "state": {"type": "string", "enum": ["active", "used"], "example": "active"},
        "nullable": {"type": "boolean"},  # a property may be named like a keyword
        "example": {"type": "array", "items": {"type": "string", "nullable": True}},
    },
    "additionalProperties": False,
    "x-anything": 1,
}


def validate(body, schema=SCHEMA, responses=None):
    validator_class = validator_map(CompiledSchemas(), responses)["response"]["application/json"]
    validator_class({"type": "http"}, schema=schema, encoding="utf-8")._validate(body)


def test_conforming_bodies_pass_nulls_included():
    validate({"id": 1, "closed_at": None})
    validate({"id": 1, "closed_at": "2026-12-03T15:00:00Z", "state": "used", "nullable": True, "example": ["a", None]})


@pytest.mark.parametrize("body", [
    {"id": "1", "closed_at": None},                  # a wrong type
    {"id": 1},                                       # a required field missing
    {"id": 1, "closed_at": "yesterday"},             # not a date-time
    {"id": 1, "closed_at": None, "state": "gone"},   # not in the enum
    {"id": 1, "closed_at": None, "nullable": None},  # the property named nullable is not nullable
    {"id": 1, "closed_at": None, "extra": 1},        # no other properties
])
def test_a_non_conforming_body_is_refused_naming_where(body):
    with pytest.raises(NonConformingResponseBody) as refused:
        validate(body)
    assert "does not conform" in refused.value.detail


def test_the_schema_read_as_json_schema():
    converted = json_schema(SCHEMA)
    assert converted["properties"]["closed_at"] == {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}
    assert "nullable" in converted["properties"] and "example" in converted["properties"]
    assert "example" not in converted["properties"]["state"] and "x-anything" not in converted


def test_each_schema_is_compiled_once():
    responses = CompiledResponseSchemas()
    validate({"id": 1, "closed_at": None}, responses=responses)
    first = responses.get(SCHEMA)
    validate({"id": 2, "closed_at": None}, responses=responses)
    assert responses.get(SCHEMA) is first


def test_every_response_schema_of_the_partner_api_compiles():
    spec = SpecDocument.load(spec_path())
    responses = CompiledResponseSchemas()
    for _, _, _, op in spec.operations():
        for answer in op["responses"].values():
            schema = spec.resolve(answer).get("content", {}).get("application/json", {}).get("schema")
            if schema is not None:
                responses.get(spec.inline(schema))

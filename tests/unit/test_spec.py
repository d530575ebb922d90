"""openapi.yaml itself: a valid OpenAPI document whose examples fit their schemas, documenting every error."""

from __future__ import annotations

import jsonschema
import pytest
import yaml
from openapi_spec_validator import validate
from openapi_schema_validator import OAS30Validator

from partner_sandbox.errors import CODES
from partner_sandbox.resources import control_spec_path, spec_path

SPECS = {path.name: yaml.safe_load(path.read_text()) for path in (spec_path(), control_spec_path())}
SPEC = SPECS["openapi.yaml"]
OPERATION = SPEC["paths"]["/workspaces/{workspace_id}/users/{user_id}/qr"]["post"]


def resolve(node, spec=SPEC):
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def deref(node, spec=SPEC):
    """The schema with every $ref inlined (the specs have no recursive schemas)."""
    node = resolve(node, spec)
    if isinstance(node, dict):
        return {k: deref(v, spec) for k, v in node.items()}
    if isinstance(node, list):
        return [deref(v, spec) for v in node]
    return node


def operations(spec):
    return [op for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)]


def examples(spec):
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
            schema = node.get("schema", node)
            found.append((where + "/example", schema, node["example"]))
        if "examples" in node and "schema" in node:
            for name, ex in node["examples"].items():
                found.append((f"{where}/examples/{name}", node["schema"], resolve(ex, spec)["value"]))
        for key, value in node.items():
            if key not in ("example", "examples"):
                walk(value, f"{where}/{key}")

    walk(spec, "#")
    return found


@pytest.mark.parametrize("name", SPECS)
def test_openapi_spec_validator_accepts_it(name):
    validate(SPECS[name])
    assert SPECS[name]["openapi"] == "3.0.3"


def test_servers():
    assert SPEC["servers"] == [{"url": "/partner/api/v1"}]
    assert SPECS["sandbox.yaml"]["servers"] == [{"url": "/sandbox/v1"}]


EXAMPLES = [(name, *example) for name, spec in SPECS.items() for example in examples(spec)]


def test_the_specs_have_examples_to_check():
    assert sum(1 for e in EXAMPLES if e[0] == "openapi.yaml") >= 20
    assert sum(1 for e in EXAMPLES if e[0] == "sandbox.yaml") >= 10


@pytest.mark.parametrize("name, where, schema, example", EXAMPLES, ids=[f"{e[0]}{e[1][1:]}" for e in EXAMPLES])
def test_every_example_validates_against_its_schema(name, where, schema, example):
    schema = deref(schema, SPECS[name])
    OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER).validate(example)


def test_a_wrong_example_would_be_caught():
    schema = SPEC["components"]["schemas"]["PartnerAPIExpiresRequest"]
    with pytest.raises(jsonschema.ValidationError):
        OAS30Validator(deref(schema)).validate({"expires_in_hours": 0})


def test_every_error_code_is_documented_with_its_status():
    texts = {name: path.read_text() for name, path in (("openapi.yaml", spec_path()), ("sandbox.yaml", control_spec_path()))}
    statuses = {name: {s for op in operations(spec) for s in op["responses"]} for name, spec in SPECS.items()}
    for code, (status, _published) in CODES.items():
        documented = [name for name, text in texts.items() if f"`{code}`" in text]
        assert documented, f"code {code} is documented in neither spec"
        if status not in (405, 408, 431):  # any path: documented in the specs' descriptions
            assert any(str(status) in statuses[name] for name in documented), f"{code}: {status} is not a response"


def test_the_description_tells_published_codes_from_the_sandboxs_own():
    errors_paragraph = next(p for p in SPEC["info"]["description"].split("\n\n") if p.startswith("**Errors.**"))
    published_part, _, own_part = errors_paragraph.partition("Codes the publication has no name for")
    text = spec_path().read_text()
    in_partner_api = [code for code in CODES if f"`{code}`" in text]
    assert len(in_partner_api) >= 20
    for code in in_partner_api:
        published = CODES[code][1]
        assert (f"`{code}`" in published_part) == published, code
        assert (f"`{code}`" in own_part) == (not published), code


@pytest.mark.parametrize("name", SPECS)
def test_every_documented_error_uses_the_envelope_with_an_example_of_its_own_status(name):
    spec = SPECS[name]
    envelope = resolve({"$ref": "#/components/schemas/PartnerAPIError"}, spec)
    assert set(envelope["properties"]) == {"error", "status", "description"} and envelope["required"] == ["error", "status"]
    checked = 0
    for op in operations(spec):
        for status, response in op["responses"].items():
            if status.startswith("2"):
                continue
            content = resolve(response, spec)["content"]
            assert list(content) == ["application/json"], status
            media = content["application/json"]
            assert media["schema"] == {"$ref": "#/components/schemas/PartnerAPIError"}
            bodies = [media["example"]] if "example" in media else [resolve(e, spec)["value"] for e in media["examples"].values()]
            assert bodies
            for body in bodies:
                assert body["status"] == int(status) and CODES[body["error"]][0] == int(status), (status, body)
                checked += 1
    assert checked >= 10


def test_the_response_example_is_the_seeds():
    example = OPERATION["responses"]["200"]["content"]["application/json"]["examples"]["seed"]["value"]
    assert example["workspace_id"] == "my-first-workspace" and example["user_id"] == 42
    assert example["expires_at"] == "2024-01-01T12:00:00Z"
    assert set(resolve(OPERATION["responses"]["200"]["content"]["application/json"]["schema"])["required"]) == {
        "workspace_id", "user_id", "qr_link", "expires_at", "whatsapp_disconnected", "previous_qr_revoked"}


def test_request_body_is_optional_with_the_documented_range_and_default():
    body = OPERATION["requestBody"]
    assert body["required"] is False
    field = resolve(body["content"]["application/json"]["schema"])["properties"]["expires_in_hours"]
    assert (field["type"], field["minimum"], field["maximum"], field["default"]) == ("integer", 1, 168, 24)


# --- webhooks.yaml: an OpenAPI 3.1 document of the partner events -------------------------------

WEBHOOKS = yaml.safe_load((spec_path().parent / "webhooks.yaml").read_text())


def test_webhooks_document_is_valid_openapi_3_1_with_the_eight_published_events():
    validate(WEBHOOKS)
    assert WEBHOOKS["openapi"].startswith("3.1")
    published = {  # event name -> (operationId, schema): the published contract's facts
        "workspace:seats_full": ("SeatsFull", "PartnerAPIWhSeatsFull"),
        "workspace:quota_near_full:messaging": ("MessagingNearFull", "PartnerAPIWhMessaging"),
        "workspace:quota_full:messaging": ("MessagingFull", "PartnerAPIWhMessaging"),
        "workspace:quota_full:transactions": ("TransactionsFull", "PartnerAPIWhTransactions"),
        "workspace:quota_full:api_calls": ("ApiCallsFull", "PartnerAPIWhPublicApi"),
        "whatsapp_account:connected": ("AccountConnected", "PartnerAPIWhWhatsappAccount"),
        "whatsapp_account:disconnected": ("AccountDisconnected", "PartnerAPIWhWhatsappAccount"),
        "api_token:rotated": ("PublicApiTokenRotated", "PartnerAPIWhPublicApiTokenRotated"),
    }
    ours = {name: (item["post"]["operationId"],
                   item["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1])
            for name, item in WEBHOOKS["webhooks"].items()}
    assert ours == published
    headers = {WEBHOOKS["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]["name"]
               for item in WEBHOOKS["webhooks"].values() for p in item["post"]["parameters"]}
    assert {"X-TL-Partner-Id", "X-TL-Signature"} <= headers


def test_every_webhook_example_validates():
    from openapi_schema_validator import OAS31Validator

    checked = 0
    for name, event in WEBHOOKS["webhooks"].items():
        media = event["post"]["requestBody"]["content"]["application/json"]
        schema = {**media["schema"], "components": WEBHOOKS["components"]}
        for example in media["examples"].values():
            OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER).validate(example["value"])
            assert example["value"]["event_type"] == name
            checked += 1
        bad = {**next(iter(media["examples"].values()))["value"], "triggered_at": "2026-11-25T12:00:00Z"}
        with pytest.raises(jsonschema.ValidationError):  # milliseconds are required
            OAS31Validator(schema).validate(bad)
    assert checked == 8

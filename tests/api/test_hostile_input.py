"""Property-based: malformed and extreme requests at every operation of both APIs and at the QR page's
flow endpoints. Whatever hypothesis throws (broken or extreme credentials, bodies that are not a
JSON object or cannot be read, path parameters that name nothing, unsupported media types), the
answer is a 4xx in the error envelope, and the sandbox's state is unchanged.

HOSTILE_MAX_EXAMPLES sets the number of requests per operation (default 60)."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from urllib.parse import quote

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partner_sandbox.errors import CODES
from partner_sandbox.resources import control_spec_path, spec_path
from partner_sandbox.spec import SpecDocument
from tests.helpers import ENVELOPE_KEYS, SECRETS, auth_headers, control

MAX_EXAMPLES = int(os.environ.get("HOSTILE_MAX_EXAMPLES", "60"))
WORKSPACE, USER, LINK_USER = "qa-workspace", 250, 251
# What a request can change: every table but the journal, the rate buckets and the webhook outbox.
STATE_TABLES = ("partners", "workspaces", "users", "links", "link_flows", "counters", "clocks", "webhooks",
                "api_tokens", "webhook_events")


def operations() -> list[tuple[str, str, dict, str]]:
    """(method, path template with its base, operation, id) of both specs, and the flow endpoints."""
    found = []
    for path in (spec_path(), control_spec_path()):
        doc = SpecDocument.load(path)
        for _, template, method, op in doc.operations():
            params = [doc.resolve(p) for p in op.get("parameters", [])]
            found.append((method.upper(), doc.base_path + template,
                          {"path": {p["name"]: p["schema"].get("type") for p in params if p["in"] == "path"},
                           "body": "requestBody" in op, "fields": sorted(body_fields(doc, op))},
                          op["operationId"]))
    for step, fields in (("qr", []), ("phone", ["phone"]), ("scan", ["qr"])):
        found.append(("POST", "/qr/{token}/flow/" + step,
                      {"path": {"token": "string"}, "body": True, "page": True, "fields": fields}, f"flow-{step}"))
    found.append(("GET", "/qr/{token}/flow", {"path": {"token": "string"}, "body": False, "page": True, "fields": []},
                  "flow-state"))
    # The pages a browser or a phone opens: HTML, 404 for a token that names no link.
    for method, template, name in (("GET", "/qr/{token}", "page"), ("GET", "/qr/{token}/scan", "scan-confirm"),
                                   ("POST", "/qr/{token}/scan", "scan")):
        found.append((method, template, {"path": {"token": "string"}, "body": False, "page": True, "html": True,
                                         "fields": []}, name))
    return found


def body_fields(doc: SpecDocument, op: dict) -> set[str]:
    """The property names of an operation's JSON body, every branch of a oneOf included."""
    schema = doc.inline(((op.get("requestBody") or {}).get("content") or {}).get("application/json", {}).get("schema", {}))
    names = set(schema.get("properties", {}))
    for branch in schema.get("oneOf", []) + schema.get("anyOf", []):
        names |= set(branch.get("properties", {}))
    return names


@pytest.fixture(scope="module")
def server(start_module_app):
    server = start_module_app()
    link = server.qr_link(WORKSPACE, LINK_USER)
    server.link_token = link.rsplit("/", 1)[1]
    return server


def snapshot(server) -> dict:
    with sqlite3.connect(f"file:{server.db}?mode=ro", uri=True) as db:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in STATE_TABLES}


def token_with(**claims) -> str:
    now = int(time.time())
    payload = {"partner_id": "sandbox-partner", "nbf": now - 60, "exp": now + 300, **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, SECRETS["sandbox-partner"], algorithm="HS256")


# Claims no clock can use, or of the wrong kind: each makes the token fail (None drops the claim).
UNUSABLE = [10**400, -10**400, float("inf"), float("-inf"), float("nan"), 1e308, 2**63, "soon", [1], {"a": 1}, None]
EXTREME = {"exp": st.sampled_from([*UNUSABLE, -1, 0, True]), "nbf": st.sampled_from(UNUSABLE),
           "partner_id": st.sampled_from([10**400, 1, None, [1], {"a": 1}, True, "other-partner", ""])}
BROKEN_AUTH = st.one_of(
    st.just({}),
    st.builds(lambda t: {"Authorization": "Bearer " + t, "X-TL-Partner-Id": "sandbox-partner"},
              st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=300)),
    st.sampled_from(sorted(EXTREME)).flatmap(
        lambda claim: EXTREME[claim].map(
            lambda v: {"Authorization": "Bearer " + token_with(**{claim: v}), "X-TL-Partner-Id": "sandbox-partner"})),
    st.builds(lambda p: {"Authorization": "Bearer " + token_with(), "X-TL-Partner-Id": p},
              st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
              .filter(lambda p: p != "sandbox-partner" and p.strip() == p)),
    st.just({"Authorization": "Bearer " + jwt.encode({"partner_id": "sandbox-partner", "nbf": 0, "exp": 2**40}, None,
                                                    algorithm="none"), "X-TL-Partner-Id": "sandbox-partner"}),
    st.just({"Authorization": "Bearer " + token_with(tl_use="webhook_signature"), "X-TL-Partner-Id": "sandbox-partner"}),
)


def _not_an_object(raw: bytes) -> bool:
    try:
        return not isinstance(json.loads(raw), dict)
    except (ValueError, RecursionError):
        return True


BROKEN_BODY = st.one_of(
    st.binary(min_size=1, max_size=300).filter(_not_an_object),
    st.sampled_from([b"[" * 30000 + b"]" * 30000, b'{"a":' * 20000 + b"1" + b"}" * 20000, b"\xff\xfe{}", b"null",
                     b"[]", b'"text"', b"1e999999", b"NaN", b'{"count": ' + b"9" * 5000 + b"}",
                     b'{"display_name": "x", "seats_purchased": ' + b"1" * 4400 + b"}"]),
    st.builds(lambda v: json.dumps(v).encode(), st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                                                             lambda kids: st.lists(kids, max_size=4), max_leaves=8)),
)
# Types that are no JSON of any kind (a `*json` suffix would be read as JSON).
BROKEN_MEDIA_TYPE = st.sampled_from(["text/plain", "application/xml", "multipart/form-data; boundary=x",
                                     "application/x-www-form-urlencoded", "image/png", "*/*", "application/json-patch",
                                     "APPLICATION/XML; CHARSET=UTF-8"])
ODD_TEXT = st.text(min_size=0, max_size=60) | st.sampled_from(["9" * 5000, "-1", "0x10", "1e3", " 1", "1\n", "%00",
                                                                 "qa-workspace\n", "QA-WORKSPACE"])


def names_something(value: str) -> bool:
    """A path value that could name a real user (an integer in the world's range), or a dot segment
    (a client resolves `..` before sending, to another path): not a malformed value."""
    if value in (".", ".."):
        return True
    digits = value.lstrip("+-")
    return digits.isascii() and digits.isdigit() and len(digits) < 10


@pytest.mark.parametrize("method, template, shape, op_id", operations(), ids=[o[3] for o in operations()])
def test_malformed_and_extreme_requests_get_a_4xx_envelope_and_change_nothing(server, method, template, shape, op_id):
    before = snapshot(server)
    kinds = (["auth"] if not shape.get("page") else []) + (["body", "media"] if shape["body"] else []) \
        + (["path"] if shape["path"] else [])

    def valid_path_value(name: str) -> str:
        return {"workspace_id": WORKSPACE, "user_id": str(USER), "token": server.link_token}.get(name, "1")

    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(data=st.data())
    def check(data):
        kind = data.draw(st.sampled_from(kinds), label="kind")
        values = {name: valid_path_value(name) for name in shape["path"]}
        headers = {} if shape.get("page") else auth_headers()
        body = None
        if kind == "auth":  # the page's endpoints take no credentials: not drawn for them
            headers = data.draw(BROKEN_AUTH, label="auth")
        elif kind == "body":
            body = data.draw(BROKEN_BODY, label="body")
            headers["Content-Type"] = "application/json"
        elif kind == "media":
            body = b'{"display_name": "media-type-case", "seats_purchased": 1, "count": 1, "url": "http://a.b/"}'
            headers["Content-Type"] = data.draw(BROKEN_MEDIA_TYPE, label="content-type")
        else:
            name = data.draw(st.sampled_from(sorted(shape["path"])), label="parameter")
            values[name] = data.draw(ODD_TEXT.filter(lambda v: v != valid_path_value(name) and not names_something(v)),
                                     label="value")
        path = template
        for name, value in values.items():
            path = path.replace("{" + name + "}", quote(value, safe=""))
        r = server.client.request(method, path, headers=headers, content=body)
        assert 400 <= r.status_code < 500, (kind, r.status_code, r.text[:300])
        if shape.get("html") and r.headers["content-type"].startswith("text/html"):
            return  # a page's answer (its 404 is a page); a path no page matches is the API's 404 below
        assert r.headers["content-type"].startswith("application/json"), (kind, r.headers, r.text[:200])
        document = r.json()
        assert set(document) == ENVELOPE_KEYS and document["status"] == r.status_code, document
        assert CODES[document["error"]][0] == r.status_code, document

    check()
    assert snapshot(server) == before, f"{op_id}: state changed"
    assert control(server, "GET", "/clock").status_code == 200  # and it still serves


# The cases that answered 500 before, each named.

def test_a_signed_token_whose_exp_is_10_to_the_400_is_a_401(server):
    for body in (None, b"{}"):  # the fast lane and connexion's path
        r = server.client.post(f"/partner/api/v1/workspaces/{WORKSPACE}/users/{USER}/qr", content=body,
                               headers={"Authorization": "Bearer " + token_with(exp=10**400),
                                        "X-TL-Partner-Id": "sandbox-partner", "Content-Type": "application/json"})
        assert r.status_code == 401 and r.json()["error"] == "token_decode_error", r.text


@pytest.mark.parametrize("media_type", ["APPLICATION/JSON", "Application/Json; charset=UTF-8"])
def test_a_media_type_in_capitals_is_json(server, media_type):
    r = server.client.post(f"/partner/api/v1/workspaces/{WORKSPACE}/users/{USER + 2}/qr",
                           headers={**auth_headers(), "Content-Type": media_type}, content=b'{"expires_in_hours": 2}')
    assert r.status_code == 200, r.text
    r = server.client.patch(f"/partner/api/v1/workspaces/{WORKSPACE}", headers={**auth_headers(), "Content-Type": media_type},
                            content=b"{}")
    assert r.status_code == 200, r.text


def test_integers_of_more_than_4300_digits_are_a_400(server):
    digits = "9" * 5000
    body = server.client.post(f"/partner/api/v1/workspaces/{WORKSPACE}/users", headers=auth_headers(),
                              content=f'{{"count": {digits}}}'.encode())
    assert body.status_code == 400 and "too long" in body.json()["description"], body.text
    path = server.client.post(f"/partner/api/v1/workspaces/{WORKSPACE}/users/{digits}/qr", headers=auth_headers())
    assert path.status_code == 400 and "user_id" in path.json()["description"], path.text


def test_30000_levels_of_nesting_on_the_flow_endpoints_are_a_400(server):
    deep = b"[" * 30000 + b"]" * 30000
    for step in ("qr", "phone", "scan"):
        r = server.client.post(f"/qr/{server.link_token}/flow/{step}", content=deep,
                               headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["description"] == "The request body is nested too deeply", r.text


def test_a_workspace_whose_id_starts_with_ui_keeps_the_apis_csp(server):
    r = server.client.post("/partner/api/v1/workspaces", headers=auth_headers(),
                           json={"display_name": "uibox", "seats_purchased": 1})
    assert r.status_code == 201, r.text
    for answer in (r, server.client.get("/partner/api/v1/workspaces/uibox", headers=auth_headers()),
                   server.client.get("/partner/api/v1/workspaces/ui", headers=auth_headers())):
        assert answer.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'", answer.headers
    swagger = server.client.get("/partner/api/v1/ui/")
    assert swagger.status_code == 200 and swagger.headers.get("content-security-policy") != \
        "default-src 'none'; frame-ancestors 'none'"  # Swagger UI keeps its scripts


# Values no field expects: lone surrogates, NUL, very long text, numbers at the edges, wrong shapes.
ODD_VALUES = st.sampled_from(["\ud800", "a\udfffb", "\x00", "x" * 60000, "\U0001F600" * 100, 10**4000, -10**4000, 1e308,
                              -0.0, float("nan"), [], {}, {"a": {"b": [None]}}, True, None, "", " ", "\n"])


@pytest.fixture(scope="module")
def odd_server(start_module_app):
    server = start_module_app()
    server.link_token = server.qr_link(WORKSPACE, LINK_USER).rsplit("/", 1)[1]
    return server


BODY_OPERATIONS = [o for o in operations() if o[2]["fields"]]


@pytest.mark.parametrize("method, template, shape, op_id", BODY_OPERATIONS, ids=[o[3] for o in BODY_OPERATIONS])
def test_odd_values_in_every_field_never_reach_a_500(odd_server, method, template, shape, op_id):
    """Bodies of the right shape with values no field expects: whatever the answer, never a 500,
    and every error in the envelope (some may be accepted: state may change here)."""
    path = template
    for name in shape["path"]:
        path = path.replace("{" + name + "}", {"workspace_id": WORKSPACE, "user_id": str(USER),
                                              "token": odd_server.link_token}.get(name, "1"))

    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=st.dictionaries(st.sampled_from(shape["fields"]), ODD_VALUES, min_size=1))
    def check(body):
        headers = {"Content-Type": "application/json", **({} if shape.get("page") else auth_headers())}
        r = odd_server.client.request(method, path, headers=headers, content=json.dumps(body).encode())
        assert r.status_code < 500, (body, r.status_code, r.text[:300])
        if r.status_code >= 400:
            document = r.json()
            assert set(document) == ENVELOPE_KEYS and CODES[document["error"]][0] == r.status_code, document

    check()


@pytest.mark.parametrize("prefer", ["delay=" + "9" * 5000, "delay=\u00b2", "delay=\u0663", "code=\u00b2\u00b2\u00b2",
                                    "code=\u0664\u0660\u0660"])
def test_prefer_values_of_any_digits_are_a_400(server, prefer):
    r = server.client.post(f"/partner/api/v1/workspaces/{WORKSPACE}/users/{USER}/qr",
                           headers={**auth_headers(), "Prefer": prefer.encode("utf-8")})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text


def test_a_phone_number_with_a_final_newline_is_no_phone_number(server):
    """The flow shows the failure to the page (as for any invalid number); no code is asked for."""
    link = server.qr_link(WORKSPACE, 260)  # a link of its own: other tests here re-issue theirs
    r = server.client.post(f"{link}/flow/phone", json={"phone": "+31612345678\n"})
    assert r.status_code == 200, r.text
    assert "is not a phone number" in r.json()["error"]["message"] and r.json()["pairing"] is None, r.text


@pytest.mark.parametrize("path", ["/partner/api/v1", "/sandbox/v1", "/partner/api/v1/workspaces/", "/qr/abc/",
                                  "/partner/api/v1/workspaces//users"])
def test_a_path_that_matches_nothing_is_the_404_envelope_never_a_redirect(server, path):
    r = server.client.get(path, headers=auth_headers())
    assert r.status_code == 404 and r.json()["error"] == "not_found", (r.status_code, r.headers.get("location"))


def test_swagger_ui_still_redirects_to_its_slash(server):
    r = server.client.get("/partner/api/v1/ui")
    assert r.status_code == 307 and r.headers["location"].endswith("/partner/api/v1/ui/")

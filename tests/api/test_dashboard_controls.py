"""The control operations the dashboard stands on, over HTTP in process: createToken (sign-in with a
partner id and secret), listWorkspaces, the journal's error explanations, exportRequests (HAR) and
the signature shown for each webhook attempt."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import datetime

import jwt
import pytest

from partner_sandbox.errors import CODES, EXPLANATIONS
from partner_sandbox.resources import control_spec_path
from partner_sandbox.spec import SpecDocument
from tests.helpers import SECRETS, assert_error, auth_headers, control, make_token, wait_status
from tests.receivers import Receiver

API = "/partner/api/v1"


@pytest.fixture
def server(start_app):
    """A sandbox of the test's own: these tests create workspaces and fill the journal."""
    return start_app("--webhook-backoff", "0.1", "--webhook-attempts", "2")


def sign_in(server, partner_id: str, secret: str):
    return server.client.post("/sandbox/v1/tokens", json={"partner_id": partner_id, "secret": secret})


# --- createToken -------------------------------------------------------------------------------------

def test_a_token_for_the_id_and_secret_opens_both_apis_for_an_hour(server):
    before = int(time.time())
    r = sign_in(server, "sandbox-partner", SECRETS["sandbox-partner"])
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == {"token", "partner_id", "expires_at"} and body["partner_id"] == "sandbox-partner"
    claims = jwt.decode(body["token"], SECRETS["sandbox-partner"], algorithms=["HS256"])
    assert claims["partner_id"] == "sandbox-partner" and before + 3600 <= claims["exp"] <= int(time.time()) + 3600
    assert datetime.fromisoformat(body["expires_at"]).timestamp() == claims["exp"]
    headers = {"Authorization": f"Bearer {body['token']}", "X-TL-Partner-Id": "sandbox-partner"}
    assert server.client.get("/sandbox/v1/clock", headers=headers).status_code == 200
    assert server.client.get(API + "/workspaces/my-first-workspace", headers=headers).status_code == 200
    # it opens the partner's world only
    assert_error(server.client.get(API + "/workspaces/other-workspace", headers=headers), 404, "workspace_not_found")


def test_a_wrong_secret_and_an_unknown_partner_are_the_same_401(server):
    wrong = sign_in(server, "sandbox-partner", SECRETS["other-partner"])
    unknown = sign_in(server, "no-such-partner", SECRETS["sandbox-partner"])
    assert assert_error(wrong, 401, "invalid_credentials") == assert_error(unknown, 401, "invalid_credentials")
    assert SECRETS["other-partner"] not in wrong.text
    assert_error(sign_in(server, "sandbox-partner", SECRETS["sandbox-partner"] + "x"), 401, "invalid_credentials")
    assert_error(sign_in(server, "inactive-partner", SECRETS["inactive-partner"]), 403, "partner_not_active")


@pytest.mark.parametrize("body", [{}, {"partner_id": "sandbox-partner"}, {"secret": "x"},
                                  {"partner_id": "", "secret": "x"}, {"partner_id": "sandbox-partner", "secret": ""},
                                  {"partner_id": 1, "secret": "x"},
                                  {"partner_id": "sandbox-partner", "secret": "x", "extra": 1}, []])
def test_a_malformed_sign_in_is_400(server, body):
    assert_error(server.client.post("/sandbox/v1/tokens", json=body), 400, "invalid_request")


def test_sign_in_takes_json_only(server):
    r = server.client.post("/sandbox/v1/tokens", content=b"partner_id=sandbox-partner",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(r, 415, "unsupported_media_type")


def test_the_secret_and_the_token_are_never_logged(server, caplog):
    with caplog.at_level(logging.DEBUG):
        token = sign_in(server, "sandbox-partner", SECRETS["sandbox-partner"]).json()["token"]
        sign_in(server, "sandbox-partner", SECRETS["sandbox-partner"] + "-wrong")
        server.client.post("/sandbox/v1/tokens", json={"partner_id": "sandbox-partner", "secret": SECRETS["sandbox-partner"],
                                                       "extra": 1})
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/sandbox/v1/tokens" in logged  # the access log saw the three requests
    assert SECRETS["sandbox-partner"] not in logged and token not in logged


# --- listWorkspaces ----------------------------------------------------------------------------------

def test_list_workspaces_is_the_callers_managed_workspaces_newest_first_each_its_state(server):
    listed = control(server, "GET", "/workspaces").json()["workspaces"]
    ids = [w["workspace_id"] for w in listed]
    assert sorted(ids) == ["my-first-workspace", "qa-connected", "qa-workspace"]  # not billed-workspace
    created = server.client.post(API + "/workspaces", headers=auth_headers(),
                                 json={"display_name": "Listed-Newest", "seats_purchased": 2}).json()
    listed = control(server, "GET", "/workspaces", params={"users": 1000}).json()["workspaces"]
    assert listed[0]["workspace_id"] == created["workspace_id"]
    for item in listed:
        total = item.pop("users_total")
        assert item == control(server, "GET", f"/workspaces/{item['workspace_id']}").json()
        assert total == len(item["users"])
    theirs = control(server, "GET", "/workspaces", partner="other-partner").json()["workspaces"]
    assert [w["workspace_id"] for w in theirs] == ["other-workspace"]


def test_list_workspaces_lists_the_first_users_of_each_and_only_their_accounts_and_links(server):
    server.issue("qa-connected", 1001)
    server.issue("qa-connected", 1007)
    whole = control(server, "GET", "/workspaces/qa-connected").json()
    assert len(whole["users"]) > 2 and whole["whatsapp_accounts"]
    [item] = [w for w in control(server, "GET", "/workspaces", params={"users": 2}).json()["workspaces"]
              if w["workspace_id"] == "qa-connected"]
    assert item["users"] == whole["users"][:2] and item["users_total"] == len(whole["users"])
    listed = {u["user_id"] for u in item["users"]}
    assert item["whatsapp_accounts"] == [a for a in whole["whatsapp_accounts"] if a["user_id"] in listed]
    assert item["qr_links"] == [q for q in whole["qr_links"] if q["user_id"] in listed]
    assert len(item["qr_links"]) == 1 < len(whole["qr_links"]) and len(item["whatsapp_accounts"]) < len(whole["whatsapp_accounts"])
    assert item["seats"] == whole["seats"]
    for bad in (0, 1001, "x"):
        assert_error(control(server, "GET", "/workspaces", params={"users": bad}), 400, "invalid_request")


def test_list_workspaces_limit(server):
    assert len(control(server, "GET", "/workspaces", params={"limit": 1}).json()["workspaces"]) == 1
    for bad in (0, 201, "x"):
        assert_error(control(server, "GET", "/workspaces", params={"limit": bad}), 400, "invalid_request")
    assert_error(server.client.get("/sandbox/v1/workspaces"), 401, "missing_header")


# --- the journal's explanations and the HAR export ---------------------------------------------------

def test_every_error_code_has_an_explanation():
    assert set(EXPLANATIONS) == set(CODES)
    assert all(len(text) > 20 and text.endswith(".") for text in EXPLANATIONS.values())


def test_each_error_entry_says_why_in_words(server):
    server.client.get(API + "/workspaces/nope", headers=auth_headers())
    server.issue("qa-workspace", 8, json={"expires_in_hours": 0})
    server.issue("qa-workspace", 8)
    ok, invalid, missing = control(server, "GET", "/requests", params={"limit": 3}).json()["requests"]
    assert ok["status"] == 200 and ok["error"] is None
    assert invalid["error"]["code"] == "invalid_request" and "expires_in_hours" in invalid["error"]["description"]
    assert invalid["error"]["explanation"] == EXPLANATIONS["invalid_request"]
    assert missing["error"] == {"code": "workspace_not_found", "description": "Workspace 'nope' was not found",
                                "explanation": EXPLANATIONS["workspace_not_found"]}
    assert missing["query"] == "" and missing["duration_ms"] >= 0
    assert missing["response_headers"]["content-type"] == "application/json"


def test_the_har_export_is_the_journal_oldest_first_without_secrets(server):
    issued = server.issue("qa-workspace", 9).json()
    link_token = issued["qr_link"].rsplit("/", 1)[1]
    public = server.client.get(API + "/workspaces/qa-workspace/api-token", headers=auth_headers()).json()["token"]
    server.client.get(API + "/workspaces/nope", headers=auth_headers(), params={"a": "1"})
    server.issue("other-workspace", 7007, partner="other-partner")
    r = control(server, "GET", "/requests/har")
    assert r.status_code == 200
    assert r.headers["content-disposition"] == 'attachment; filename="partner-sandbox-sandbox-partner.har"'
    log = r.json()["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "partner-sandbox"
    entries = log["entries"]
    journal = control(server, "GET", "/requests", params={"limit": 200}).json()["requests"]
    assert [e["request"]["url"] for e in entries] == [server.base_url + j["path"] + (f"?{j['query']}" if j["query"] else "")
                                                      for j in reversed(journal)]
    first, token, missing = entries
    assert first["request"]["method"] == "POST" and first["response"]["status"] == 200
    assert first["response"]["statusText"] == "OK" and "comment" not in first
    assert missing["request"]["queryString"] == [{"name": "a", "value": "1"}]
    assert missing["response"]["status"] == 404 and missing["comment"].startswith("workspace_not_found: ")
    assert {"name": "authorization", "value": "<redacted>"} in missing["request"]["headers"]
    assert all(e["timings"]["wait"] == e["time"] >= 0 for e in entries)
    assert [e["startedDateTime"] for e in entries] == sorted(e["startedDateTime"] for e in entries)
    for secret in (link_token, public, "Bearer ", "other-workspace"):
        assert secret not in r.text
    assert not re.search(r"eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.", r.text)
    assert len(control(server, "GET", "/requests/har", params={"limit": 1}).json()["log"]["entries"]) == 1
    assert_error(control(server, "GET", "/requests/har", params={"limit": 0}), 400, "invalid_request")


def test_a_wrong_path_or_method_with_proven_credentials_is_journaled_and_explained(server):
    server.client.get(API + "/workspaces/my-first-workspace/userz", headers=auth_headers())
    server.client.delete(API + "/workspaces/my-first-workspace", headers=auth_headers())
    # credentials that prove nobody, or another partner, write into nobody's journal
    server.client.get(API + "/nowhere", headers={**auth_headers(), "Authorization": "Bearer " + make_token(secret="w" * 40)})
    server.client.get(API + "/nowhere-else", headers=auth_headers("other-partner"))
    server.client.get(API + "/nowhere-at-all", headers=auth_headers("inactive-partner"))
    method, path = control(server, "GET", "/requests", params={"limit": 2}).json()["requests"]
    assert (method["status"], method["error"]["code"]) == (405, "method_not_allowed")
    assert method["error"]["explanation"] == EXPLANATIONS["method_not_allowed"]
    assert (path["status"], path["error"]["code"], path["path"]) == (404, "not_found", API + "/workspaces/my-first-workspace/userz")
    mine = [e["path"] for e in control(server, "GET", "/requests", params={"limit": 200}).json()["requests"]]
    theirs = [e["path"] for e in control(server, "GET", "/requests", partner="other-partner").json()["requests"]]
    assert API + "/nowhere" not in mine and theirs == [API + "/nowhere-else"]


def test_jwts_and_bearer_credentials_in_the_query_and_bodies_are_redacted(server):
    leaked = make_token("sandbox-partner")
    server.client.post(API + "/workspaces", headers=auth_headers(), params={"access_token": leaked},
                       json={"display_name": "Bearer " + "x" * 30, "seats_purchased": 1, "note": leaked})
    [entry] = control(server, "GET", "/requests", params={"limit": 1}).json()["requests"]
    har = control(server, "GET", "/requests/har").text
    for text in (json.dumps(entry), har):
        assert leaked not in text and "x" * 30 not in text
    assert entry["query"] == "access_token=<redacted>" and "<redacted>" in entry["request_body"]


def test_journal_entries_have_ids_growing_with_time(server):
    for _ in range(3):
        server.client.get(API + "/workspaces/nope", headers=auth_headers())
    ids = [e["id"] for e in control(server, "GET", "/requests", params={"limit": 3}).json()["requests"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3


def test_the_har_export_fits_the_specs_har_schema(server):
    from openapi_schema_validator import OAS30Validator

    server.issue("qa-workspace", 9, json={"expires_in_hours": 2})
    server.client.post(API + "/workspaces", headers={**auth_headers(), "Content-Type": "application/json"}, content=b"{bad",
                       params={"q": "1"})
    spec = SpecDocument.load(control_spec_path())
    schema = spec.inline({"$ref": "#/components/schemas/Har"})
    log = control(server, "GET", "/requests/har").json()
    OAS30Validator(schema, format_checker=OAS30Validator.FORMAT_CHECKER).validate(log)
    posted = log["log"]["entries"][-1]
    assert posted["request"]["postData"] == {"mimeType": "application/json", "text": "{bad"}
    assert posted["request"]["bodySize"] == 4


def test_the_har_file_name_holds_only_safe_characters(start_app, tmp_path):
    world = tmp_path / "world.yaml"
    world.write_text('partners:\n  - id: \'acme "eu"/1\'\n    secret: acme-secret-for-the-har-file-name-test\n'
                     '    workspaces:\n      - id: acme-ws\n        users:\n          - id: 5\n')
    server = start_app(fixtures=world)
    headers = {"Authorization": "Bearer " + make_token('acme "eu"/1', secret="acme-secret-for-the-har-file-name-test"),
               "X-TL-Partner-Id": 'acme "eu"/1'}
    r = server.client.get("/sandbox/v1/requests/har", headers=headers)
    assert r.status_code == 200 and r.headers["content-disposition"] == 'attachment; filename="partner-sandbox-acme__eu__1.har"'


# --- the signature shown for each webhook attempt ----------------------------------------------------

def test_each_attempt_shows_the_signature_the_receiver_got_by_its_claims(server):
    receiver = Receiver(fail_first=1)
    control(server, "PUT", "/webhook", json={"url": receiver.url})
    try:
        server.client.post(API + "/workspaces/qa-workspace/api-token", headers=auth_headers())
        receiver.wait_for(1)
        [event] = wait_status(server, "delivered", 1)
        assert [a["status_code"] for a in event["attempts"]] == [500, 204]
        for attempt, sent in zip(event["attempts"], receiver.attempts, strict=True):
            claims = jwt.decode(sent["signature"], SECRETS["sandbox-partner"], algorithms=["HS256"],
                                options={"verify_exp": False, "verify_nbf": False})
            assert attempt["signature"] == {"header": "X-TL-Signature", "alg": "HS256", "claims": claims}
            assert claims["nbf"] == int(datetime.fromisoformat(attempt["at"]).timestamp()) - 60
        assert "eyJ" not in json.dumps(event)  # the signature itself is never kept
    finally:
        control(server, "DELETE", "/webhook")
        receiver.stop()


def test_an_attempt_that_made_no_request_shows_no_signature(start_app):
    server = start_app("--webhook-hosts", "receiver.invalid", "--webhook-attempts", "1")
    control(server, "PUT", "/webhook", json={"url": "http://127.0.0.1:9/hooks"})
    server.client.post(API + "/workspaces/qa-workspace/api-token", headers=auth_headers())
    [event] = wait_status(server, "failed", 1)
    [attempt] = event["attempts"]
    assert attempt["error"] == "host not allowed (--webhook-hosts)" and attempt["signature"] is None

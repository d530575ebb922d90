"""Bad requests over HTTP: each gets the error envelope naming what is wrong, and leaves state alone."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.helpers import SECRETS, assert_error, auth_headers, make_token


def assert_untouched(sandbox, user):
    """The user's link from before the bad request is still the active one."""
    assert sandbox.issue("qa-workspace", user).json()["previous_qr_revoked"] is True


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "content, code, detail_part",
    [
        pytest.param(b'{"expires_in_hours": 0}', "invalid_request", "expires_in_hours", id="zero"),
        pytest.param(b'{"expires_in_hours": 169}', "invalid_request", "expires_in_hours", id="169"),
        pytest.param(b'{"expires_in_hours": -5}', "invalid_request", "expires_in_hours", id="negative"),
        pytest.param(b'{"expires_in_hours": "24"}', "invalid_request", "expires_in_hours", id="string"),
        pytest.param(b'{"expires_in_hours": 2.5}', "invalid_request", "expires_in_hours", id="float"),
        pytest.param(b'{"expires_in_hours": 24.0}', "invalid_request", "expires_in_hours", id="integral-float"),
        pytest.param(b'{"expires_in_hours": true}', "invalid_request", "expires_in_hours", id="boolean"),
        pytest.param(b'{"expires_in_hours": null}', "invalid_request", "expires_in_hours", id="null"),
        pytest.param(b'{"expires_in_hours": [24]}', "invalid_request", "expires_in_hours", id="array-value"),
        pytest.param(b'{"expires_in_hours": 1e400}', "invalid_request", "expires_in_hours", id="huge-number"),
        pytest.param(b'{"expires_in_hours": ', "invalid_request", "not valid JSON", id="truncated"),
        pytest.param(b"{'expires_in_hours': 2}", "invalid_request", "not valid JSON", id="single-quotes"),
        pytest.param(b"\xff\xfe{}", "invalid_request", "utf-8", id="invalid-utf8"),
        pytest.param(b"  \n", "invalid_request", "not valid JSON", id="whitespace-only"),
        pytest.param(b"\x0c", "invalid_request", "not valid JSON", id="form-feed"),
        pytest.param(b"[]", "invalid_request", "JSON object", id="array-body"),
        pytest.param(b'"text"', "invalid_request", "JSON object", id="string-body"),
        pytest.param(b"42", "invalid_request", "JSON object", id="number-body"),
        pytest.param(b"null", "invalid_request", "JSON object", id="null-body"),
        pytest.param(b"[" * 5000 + b"]" * 5000, "invalid_request", "nested too deeply", id="deep-array"),
    ],
)
def test_bad_bodies_are_400_naming_what_is_wrong(sandbox, fresh_user, content, code, detail_part):
    user = fresh_user()
    assert sandbox.issue("qa-workspace", user).status_code == 200
    r = sandbox.issue("qa-workspace", user, content=content, headers=JSON)
    body = assert_error(r, 400, code)
    assert detail_part.lower() in body["description"].lower()
    assert_untouched(sandbox, user)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_non_json_content_type_is_415(sandbox, fresh_user, content_type):
    user = fresh_user()
    sandbox.issue("qa-workspace", user)
    r = sandbox.issue("qa-workspace", user, content=b"expires_in_hours=2", headers={"Content-Type": content_type})
    body = assert_error(r, 415, "unsupported_media_type")
    assert content_type in body["description"]
    assert_untouched(sandbox, user)


def test_json_with_a_charset_is_accepted(sandbox, fresh_user):
    r = sandbox.issue("qa-workspace", fresh_user(), content=b'{"expires_in_hours": 3}',
                      headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text


def test_user_id_out_of_int64_range_is_400_naming_it(sandbox):
    r = sandbox.issue("qa-workspace", 2**63)
    body = assert_error(r, 400, "invalid_request")
    assert "user_id" in body["description"]


def test_user_id_that_is_not_an_integer_matches_no_operation(sandbox):
    assert_error(sandbox.issue("qa-workspace", "abc"), 404, "not_found")


def test_unknown_workspace_and_another_partners_workspace_are_the_same_404(sandbox):
    theirs = assert_error(sandbox.issue("other-workspace", 7008), 404, "workspace_not_found")
    missing = assert_error(sandbox.issue("no-such-workspace", 7008), 404, "workspace_not_found")
    assert theirs["description"].replace("other-workspace", "X") == missing["description"].replace("no-such-workspace", "X")
    # and the other partner's user was not touched: their first issuance revokes nothing
    assert sandbox.issue("other-workspace", 7008, partner="other-partner").json()["previous_qr_revoked"] is False


def test_other_partner_cannot_reach_sandbox_partner_workspaces(sandbox, fresh_user):
    user = fresh_user()
    sandbox.issue("qa-workspace", user)
    assert_error(sandbox.issue("qa-workspace", user, partner="other-partner"), 404, "workspace_not_found")
    assert_untouched(sandbox, user)


def test_an_unknown_user_is_user_not_found(sandbox):
    body = assert_error(sandbox.issue("qa-workspace", 999_999), 404, "user_not_found")
    assert "999999" in body["description"]


def test_a_user_of_another_of_the_partners_workspaces_is_user_not_in_workspace(sandbox, fresh_user):
    user = fresh_user()
    sandbox.issue("qa-workspace", user)
    body = assert_error(sandbox.issue("my-first-workspace", user), 404, "user_not_in_workspace")
    assert str(user) in body["description"] and "my-first-workspace" in body["description"]
    assert_untouched(sandbox, user)


def test_another_partners_user_is_user_not_found_not_user_not_in_workspace(sandbox):
    # 7007 exists, in other-partner's workspace: the caller learns nothing of it
    body = assert_error(sandbox.issue("qa-workspace", 7007), 404, "user_not_found")
    assert body["description"] == assert_error(sandbox.issue("qa-workspace", 7_777_777), 404, "user_not_found")[
        "description"].replace("7777777", "7007")
    assert sandbox.issue("other-workspace", 7007, partner="other-partner").json()["previous_qr_revoked"] is False


def test_a_suspended_user_is_403_user_not_active(sandbox):
    body = assert_error(sandbox.issue("my-first-workspace", 9061), 403, "user_not_active")
    assert "9061" in body["description"] and "suspended" in body["description"]
    state = sandbox.client.get("/sandbox/v1/workspaces/my-first-workspace/users/9061", headers=auth_headers()).json()
    assert state["status"] == "suspended" and state["links"] == []


def test_a_billing_managed_workspace_is_403_for_every_user_and_404_for_other_partners(sandbox):
    body = assert_error(sandbox.issue("billed-workspace", 9070), 403, "workspace_billing_managed")
    assert "billed-workspace" in body["description"]
    assert_error(sandbox.issue("billed-workspace", 1), 403, "workspace_billing_managed")  # checked before the user
    assert_error(sandbox.issue("billed-workspace", 9070, partner="other-partner"), 404, "workspace_not_found")
    r = sandbox.client.get("/sandbox/v1/workspaces/billed-workspace/users/9070", headers=auth_headers())
    assert_error(r, 403, "workspace_billing_managed")  # the control API keeps the same rule


def test_an_inactive_partner_is_403_with_a_valid_token_and_401_without(sandbox):
    body = assert_error(sandbox.issue("inactive-workspace", 9080, partner="inactive-partner"), 403, "partner_not_active")
    assert "inactive-partner" in body["description"]
    r = sandbox.client.get("/sandbox/v1/clock", headers=auth_headers("inactive-partner"))
    assert_error(r, 403, "partner_not_active")
    forged = {"Authorization": f"Bearer {make_token('inactive-partner', secret='x' * 40)}",
              "X-TL-Partner-Id": "inactive-partner"}
    r = sandbox.client.post("/partner/api/v1/workspaces/inactive-workspace/users/9080/qr", headers=forged)
    assert_error(r, 401, "invalid_signature")


# --- authentication -------------------------------------------------------------------------

def _unsigned(header: dict, payload: dict, signature: bytes = b"") -> str:
    enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc(header)}.{enc(payload)}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


NOW = int(time.time())
P = {"X-TL-Partner-Id": "sandbox-partner"}


def now() -> int:
    return int(time.time())


def valid_claims() -> dict:
    return {"partner_id": "sandbox-partner", "nbf": now() - 60, "exp": now() + 3600}


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", **P}


# Headers are made when each test runs: a token made at collection could expire before its test.
AUTH_CASES = [
    pytest.param(lambda: P, "missing_header", id="no-authorization"),
    pytest.param(lambda: {"Authorization": "", **P}, "missing_header", id="empty-authorization"),
    pytest.param(lambda: {"Authorization": "Basic dXNlcjpwYXNz", **P}, "missing_header", id="basic-scheme"),
    pytest.param(lambda: {"Authorization": make_token(), **P}, "missing_header", id="no-scheme"),
    pytest.param(lambda: {"Authorization": "Bearer", **P}, "missing_header", id="bearer-without-token"),
    pytest.param(lambda: {"Authorization": "Bearer a b", **P}, "token_decode_error", id="two-tokens"),
    pytest.param(lambda: _bearer("not-a-jwt"), "token_decode_error", id="not-a-jwt"),
    pytest.param(lambda: {"Authorization": f"Bearer {make_token()}"}, "missing_header", id="no-partner-header"),
    pytest.param(lambda: {"Authorization": f"Bearer {make_token('nobody')}", "X-TL-Partner-Id": "nobody"},
                 "partner_not_found", id="unknown-partner"),
    pytest.param(lambda: _bearer(make_token(secret="a-different-secret-of-sufficient-length!")), "invalid_signature",
                 id="bad-signature"),
    pytest.param(lambda: _bearer(make_token(secret=SECRETS["other-partner"])), "invalid_signature",
                 id="signed-with-another-partners-secret"),
    pytest.param(lambda: _bearer(_unsigned({"alg": "none", "typ": "JWT"}, valid_claims())), "invalid_signature", id="alg-none"),
    pytest.param(lambda: _bearer(_unsigned({"alg": "RS256", "typ": "JWT"}, valid_claims(), b"sig")), "invalid_signature",
                 id="alg-rs256"),
    pytest.param(lambda: _bearer(_unsigned({"alg": "ES256", "typ": "JWT"}, valid_claims(), b"sig")), "invalid_signature",
                 id="alg-es256"),
    pytest.param(lambda: _bearer(_unsigned({"alg": "PS256", "typ": "JWT"}, valid_claims(), b"sig")), "invalid_signature",
                 id="alg-ps256"),
    pytest.param(lambda: _bearer(_unsigned({"alg": "HS256", "typ": "JWT", "jku": "http://127.0.0.1:1/k"}, valid_claims(), b"forged")),
                 "invalid_signature", id="forged-signature-with-jku"),
    pytest.param(lambda: _bearer(make_token(algorithm="HS512")), "invalid_signature", id="alg-hs512"),
    pytest.param(lambda: _bearer(make_token(algorithm="HS384")), "invalid_signature", id="alg-hs384"),
    pytest.param(lambda: _bearer(make_token(nbf=now() - 600, exp=now() - 120)), "timestamp_out_of_range", id="expired"),
    pytest.param(lambda: _bearer(make_token(nbf=now() + 120, exp=now() + 600)), "token_not_active", id="not-yet-valid"),
    pytest.param(lambda: _bearer(make_token(partner_id=None)), "missing_claim", id="no-partner-id-claim"),
    pytest.param(lambda: _bearer(make_token(nbf=None)), "missing_claim", id="no-nbf-claim"),
    pytest.param(lambda: _bearer(make_token(exp=None)), "missing_claim", id="no-exp-claim"),
    pytest.param(lambda: _bearer(make_token(exp="tomorrow")), "token_decode_error", id="non-numeric-exp"),
    pytest.param(lambda: _bearer(make_token(partner_id="other-partner", secret=SECRETS["sandbox-partner"])),
                 "partner_mismatch", id="claim-header-mismatch"),
    pytest.param(lambda: {"Authorization": f"Bearer {make_token('other-partner')}", **P}, "invalid_signature",
                 id="other-partners-token-for-this-partner"),
]


@pytest.mark.parametrize("make_headers, code", AUTH_CASES)
def test_every_authentication_failure_is_401_with_a_bearer_challenge(sandbox, fresh_user, make_headers, code):
    user = fresh_user()
    sandbox.issue("qa-workspace", user)
    r = sandbox.client.post(f"/partner/api/v1/workspaces/qa-workspace/users/{user}/qr", headers=make_headers())
    assert_error(r, 401, code)
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="partner-api"')
    assert ('error="invalid_token"' in challenge) == (code != "missing_header")
    assert r.json()["description"] in challenge or code == "missing_header"
    assert_untouched(sandbox, user)


def test_authentication_is_checked_before_the_workspace_exists(sandbox):
    r = sandbox.client.post("/partner/api/v1/workspaces/no-such/users/1/qr", headers=P)
    assert_error(r, 401, "missing_header")


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({}, id="guide-shape-nbf-minus-3min-exp-plus-3min"),
        pytest.param({"nbf": NOW + 20, "exp": NOW + 600}, id="nbf-20s-ahead-within-leeway"),
        pytest.param({"nbf": NOW - 600, "exp": NOW - 20}, id="exp-20s-ago-within-leeway"),
        pytest.param({"iat": NOW + 3600}, id="extra-claims-ignored"),
    ],
)
def test_valid_tokens_within_the_leeway_authenticate(sandbox, fresh_user, claims):
    token = make_token(**{k: int(time.time()) - NOW + v if isinstance(v, int) else v for k, v in claims.items()})
    r = sandbox.client.post(f"/partner/api/v1/workspaces/qa-workspace/users/{fresh_user()}/qr", headers=_bearer(token))
    assert r.status_code == 200, r.text


def test_leeway_is_bounded(sandbox, fresh_user):
    now = int(time.time())
    token = make_token(nbf=now - 600, exp=now - 61)
    r = sandbox.client.post(f"/partner/api/v1/workspaces/qa-workspace/users/{fresh_user()}/qr", headers=_bearer(token))
    assert_error(r, 401, "timestamp_out_of_range")


def test_bearer_scheme_is_case_insensitive(sandbox, fresh_user):
    r = sandbox.client.post(f"/partner/api/v1/workspaces/qa-workspace/users/{fresh_user()}/qr",
                            headers={"Authorization": f"bearer {make_token()}", **P})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_a_method_the_path_has_no_operation_for_is_405(sandbox, method):
    r = sandbox.client.request(method, "/partner/api/v1/workspaces/qa-workspace/users/1/qr", headers=auth_headers())
    assert method in assert_error(r, 405, "method_not_allowed")["description"]
    assert_error(sandbox.client.request(method, "/sandbox/v1/reset", headers=auth_headers()), 405, "method_not_allowed")


@pytest.mark.parametrize("path", ["/partner/api/v1/workspaces/w/users/1/nothing", "/partner/api/v1/nothing/here", "/sandbox/v1/nope"])
def test_a_path_that_matches_no_operation_is_404_not_found(sandbox, path):
    assert_error(sandbox.client.post(path, headers=auth_headers()), 404, "not_found")

"""Bad requests over HTTP: each gets a problem+json naming what is wrong, and leaves state alone."""

from __future__ import annotations

import base64
import json
import time

import pytest

from sandbox_process import SECRETS, make_token

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert set(body) == PROBLEM_KEYS
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:partner-sandbox:problem:{code}"
    return body


def assert_untouched(sandbox, user):
    """The user's link from before the bad request is still the active one."""
    assert sandbox.issue("qa-workspace", user).json()["previous_qr_revoked"] is True


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    "content, code, detail_part",
    [
        pytest.param(b'{"expires_in_hours": 0}', "invalid_body", "expires_in_hours", id="zero"),
        pytest.param(b'{"expires_in_hours": 169}', "invalid_body", "expires_in_hours", id="169"),
        pytest.param(b'{"expires_in_hours": -5}', "invalid_body", "expires_in_hours", id="negative"),
        pytest.param(b'{"expires_in_hours": "24"}', "invalid_body", "expires_in_hours", id="string"),
        pytest.param(b'{"expires_in_hours": 2.5}', "invalid_body", "expires_in_hours", id="float"),
        pytest.param(b'{"expires_in_hours": 24.0}', "invalid_body", "expires_in_hours", id="integral-float"),
        pytest.param(b'{"expires_in_hours": true}', "invalid_body", "expires_in_hours", id="boolean"),
        pytest.param(b'{"expires_in_hours": null}', "invalid_body", "expires_in_hours", id="null"),
        pytest.param(b'{"expires_in_hours": [24]}', "invalid_body", "expires_in_hours", id="array-value"),
        pytest.param(b'{"expires_in_hours": 1e400}', "invalid_body", "expires_in_hours", id="huge-number"),
        pytest.param(b'{"expires_in_hours": ', "malformed_json", "not valid JSON", id="truncated"),
        pytest.param(b"{'expires_in_hours': 2}", "malformed_json", "not valid JSON", id="single-quotes"),
        pytest.param(b"\xff\xfe{}", "malformed_json", "utf-8", id="invalid-utf8"),
        pytest.param(b"  \n", "malformed_json", "not valid JSON", id="whitespace-only"),
        pytest.param(b"\x0c", "malformed_json", "not valid JSON", id="form-feed"),
        pytest.param(b"[]", "invalid_body", "JSON object", id="array-body"),
        pytest.param(b'"text"', "invalid_body", "JSON object", id="string-body"),
        pytest.param(b"42", "invalid_body", "JSON object", id="number-body"),
        pytest.param(b"null", "invalid_body", "JSON object", id="null-body"),
        pytest.param(b"[" * 5000 + b"]" * 5000, "malformed_json", "nested too deeply", id="deep-array"),
    ],
)
def test_bad_bodies_are_400_naming_the_problem(sandbox, fresh_user, content, code, detail_part):
    user = fresh_user()
    assert sandbox.issue("qa-workspace", user).status_code == 200
    r = sandbox.issue("qa-workspace", user, content=content, headers=JSON)
    body = assert_problem(r, 400, code)
    assert detail_part.lower() in body["detail"].lower()
    assert_untouched(sandbox, user)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_non_json_content_type_is_415(sandbox, fresh_user, content_type):
    user = fresh_user()
    sandbox.issue("qa-workspace", user)
    r = sandbox.issue("qa-workspace", user, content=b"expires_in_hours=2", headers={"Content-Type": content_type})
    body = assert_problem(r, 415, "unsupported_media_type")
    assert content_type in body["detail"]
    assert_untouched(sandbox, user)


def test_json_with_a_charset_is_accepted(sandbox, fresh_user):
    r = sandbox.issue("qa-workspace", fresh_user(), content=b'{"expires_in_hours": 3}',
                      headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 200, r.text


def test_user_id_out_of_int64_range_is_400_naming_it(sandbox):
    r = sandbox.issue("qa-workspace", 2**63)
    body = assert_problem(r, 400, "invalid_parameter")
    assert "user_id" in body["detail"]


def test_user_id_that_is_not_an_integer_matches_no_operation(sandbox):
    assert_problem(sandbox.issue("qa-workspace", "abc"), 404, "not_found")


def test_unknown_workspace_and_another_partners_workspace_are_the_same_404(sandbox):
    theirs = assert_problem(sandbox.issue("other-workspace", 7), 404, "workspace_not_found")
    missing = assert_problem(sandbox.issue("no-such-workspace", 7), 404, "workspace_not_found")
    assert theirs["detail"].replace("other-workspace", "X") == missing["detail"].replace("no-such-workspace", "X")
    # and the other partner's user was not touched: their first issuance revokes nothing
    assert sandbox.issue("other-workspace", 8, partner="other-partner").json()["previous_qr_revoked"] is False


def test_other_partner_cannot_reach_sandbox_partner_workspaces(sandbox, fresh_user):
    user = fresh_user()
    sandbox.issue("qa-workspace", user)
    assert_problem(sandbox.issue("qa-workspace", user, partner="other-partner"), 404, "workspace_not_found")
    assert_untouched(sandbox, user)


def test_user_not_in_workspace_is_404(sandbox):
    body = assert_problem(sandbox.issue("qa-workspace", 999_999), 404, "user_not_found")
    assert "999999" in body["detail"]


# --- authentication -------------------------------------------------------------------------

def _unsigned(header: dict, payload: dict, signature: bytes = b"") -> str:
    enc = lambda obj: base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{enc(header)}.{enc(payload)}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


NOW = int(time.time())
CLAIMS = {"partner_id": "sandbox-partner", "nbf": NOW - 60, "exp": NOW + 3600}
P = {"X-TL-Partner-Id": "sandbox-partner"}


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}", **P}


AUTH_CASES = [
    pytest.param(P, "missing_credentials", id="no-authorization"),
    pytest.param({"Authorization": "", **P}, "missing_credentials", id="empty-authorization"),
    pytest.param({"Authorization": "Basic dXNlcjpwYXNz", **P}, "invalid_authorization_header", id="basic-scheme"),
    pytest.param({"Authorization": make_token(), **P}, "invalid_authorization_header", id="no-scheme"),
    pytest.param({"Authorization": "Bearer", **P}, "invalid_authorization_header", id="bearer-without-token"),
    pytest.param({"Authorization": "Bearer a b", **P}, "invalid_authorization_header", id="two-tokens"),
    pytest.param(_bearer("not-a-jwt"), "malformed_token", id="not-a-jwt"),
    pytest.param({"Authorization": f"Bearer {make_token()}"}, "missing_partner_id", id="no-partner-header"),
    pytest.param({"Authorization": f"Bearer {make_token('nobody')}", "X-TL-Partner-Id": "nobody"},
                 "unknown_partner", id="unknown-partner"),
    pytest.param(_bearer(make_token(secret="a-different-secret-of-sufficient-length!")), "invalid_signature",
                 id="bad-signature"),
    pytest.param(_bearer(make_token(secret=SECRETS["other-partner"])), "invalid_signature",
                 id="signed-with-another-partners-secret"),
    pytest.param(_bearer(_unsigned({"alg": "none", "typ": "JWT"}, CLAIMS)), "unsupported_algorithm", id="alg-none"),
    pytest.param(_bearer(_unsigned({"alg": "RS256", "typ": "JWT"}, CLAIMS, b"sig")), "unsupported_algorithm",
                 id="alg-rs256"),
    pytest.param(_bearer(_unsigned({"alg": "ES256", "typ": "JWT"}, CLAIMS, b"sig")), "unsupported_algorithm",
                 id="alg-es256"),
    pytest.param(_bearer(_unsigned({"alg": "PS256", "typ": "JWT"}, CLAIMS, b"sig")), "unsupported_algorithm",
                 id="alg-ps256"),
    pytest.param(_bearer(_unsigned({"alg": "HS256", "typ": "JWT", "jku": "http://127.0.0.1:1/k"}, CLAIMS, b"forged")),
                 "invalid_signature", id="forged-signature-with-jku"),
    pytest.param(_bearer(make_token(algorithm="HS512")), "unsupported_algorithm", id="alg-hs512"),
    pytest.param(_bearer(make_token(algorithm="HS384")), "unsupported_algorithm", id="alg-hs384"),
    pytest.param(_bearer(make_token(nbf=NOW - 600, exp=NOW - 120)), "token_expired", id="expired"),
    pytest.param(_bearer(make_token(nbf=NOW + 120, exp=NOW + 600)), "token_not_yet_valid", id="not-yet-valid"),
    pytest.param(_bearer(make_token(partner_id=None)), "missing_claim", id="no-partner-id-claim"),
    pytest.param(_bearer(make_token(nbf=None)), "missing_claim", id="no-nbf-claim"),
    pytest.param(_bearer(make_token(exp=None)), "missing_claim", id="no-exp-claim"),
    pytest.param(_bearer(make_token(exp="tomorrow")), "malformed_token", id="non-numeric-exp"),
    pytest.param(_bearer(make_token(partner_id="other-partner", secret=SECRETS["sandbox-partner"])),
                 "partner_mismatch", id="claim-header-mismatch"),
    pytest.param({"Authorization": f"Bearer {make_token('other-partner')}", **P}, "invalid_signature",
                 id="other-partners-token-for-this-partner"),
]


@pytest.mark.parametrize("headers, code", AUTH_CASES)
def test_every_authentication_failure_is_401_with_a_bearer_challenge(sandbox, fresh_user, headers, code):
    user = fresh_user()
    sandbox.issue("qa-workspace", user)
    r = sandbox.client.post(f"/partner/api/v1/workspaces/qa-workspace/users/{user}/qr", headers=headers)
    assert_problem(r, 401, code)
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="partner-api"')
    assert ('error="invalid_token"' in challenge) == (code != "missing_credentials")
    assert_untouched(sandbox, user)


def test_authentication_is_checked_before_the_workspace_exists(sandbox):
    r = sandbox.client.post("/partner/api/v1/workspaces/no-such/users/1/qr", headers=P)
    assert_problem(r, 401, "missing_credentials")


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
    assert_problem(r, 401, "token_expired")


def test_bearer_scheme_is_case_insensitive(sandbox, fresh_user):
    r = sandbox.client.post(f"/partner/api/v1/workspaces/qa-workspace/users/{fresh_user()}/qr",
                            headers={"Authorization": f"bearer {make_token()}", **P})
    assert r.status_code == 200, r.text

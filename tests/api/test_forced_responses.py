"""`Prefer` on the Partner API: forced documented responses (state untouched), examples and delays."""

from __future__ import annotations

import time

import pytest

from tests.helpers import assert_error, auth_headers, control


def test_forced_status_returns_the_documented_example_without_touching_state(sandbox, fresh_user):
    user = fresh_user()
    for code, error_code in [(429, "rate_limited"), (500, "internal_error"), (503, "service_unavailable"),
                             (404, "workspace_not_found"), (403, "partner_not_active"), (413, "payload_too_large")]:
        r = sandbox.issue("qa-workspace", user, headers={"Prefer": f"code={code}"})
        assert_error(r, code, error_code)
        assert r.headers["preference-applied"] == f"code={code}"
    assert sandbox.issue("qa-workspace", user).json()["previous_qr_revoked"] is False  # nothing was issued


def test_forced_429_and_503_carry_retry_after_and_401_its_challenge(sandbox, fresh_user):
    user = fresh_user()
    assert int(sandbox.issue("qa-workspace", user, headers={"Prefer": "code=429"}).headers["retry-after"]) >= 0
    assert int(sandbox.issue("qa-workspace", user, headers={"Prefer": "code=503"}).headers["retry-after"]) >= 0
    r = sandbox.issue("qa-workspace", user, headers={"Prefer": "code=401"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")


def test_forced_200_is_the_example_and_issues_nothing(sandbox, fresh_user):
    user = fresh_user()
    r = sandbox.issue("qa-workspace", user, headers={"Prefer": "code=200"})
    assert r.status_code == 200 and r.json()["workspace_id"] == "my-first-workspace"
    assert r.headers["cache-control"] == "no-store" and r.headers["x-tl-api-version"] == "v1"
    fresh = sandbox.issue("qa-workspace", user, headers={"Prefer": "code=200, example=fresh_user"}).json()
    assert fresh["previous_qr_revoked"] is False and fresh["user_id"] == 45
    assert control(sandbox, "GET", f"/workspaces/qa-workspace/users/{user}").json()["links"] == []


@pytest.mark.parametrize(
    "prefer, status, code",
    [
        ("example=user_not_found", 404, "user_not_found"),
        ("example=user_not_in_workspace", 404, "user_not_in_workspace"),
        ("code=401, example=timestamp_out_of_range", 401, "timestamp_out_of_range"),
        ("code=403, example=workspace_billing_managed", 403, "workspace_billing_managed"),
        ('code=400; foo=bar, example="malformed_json"', 400, "invalid_request"),
    ],
)
def test_named_examples(sandbox, fresh_user, prefer, status, code):
    r = sandbox.issue("qa-workspace", fresh_user(), headers={"Prefer": prefer})
    assert_error(r, status, code)


@pytest.mark.parametrize(
    "prefer, detail_part",
    [
        ("code=418", "documented: 200, 400, 401, 403, 404, 413, 415, 429, 500, 503"),
        ("code=abc", "not an HTTP status code"),
        ("example=nope", "'nope' is not an example"),
        ("code=429, example=user_not_found", "not an example of the 429 response"),
        ("delay=10001", "at most 10000"),
        ("delay=-5", "at most 10000"),
    ],
)
def test_unusable_preferences_are_400_saying_what_exists(sandbox, fresh_user, prefer, detail_part):
    user = fresh_user()
    r = sandbox.issue("qa-workspace", user, headers={"Prefer": prefer})
    assert detail_part in assert_error(r, 400, "invalid_request")["description"]
    assert sandbox.issue("qa-workspace", user).json()["previous_qr_revoked"] is False


def test_unknown_preferences_are_ignored(sandbox, fresh_user):
    r = sandbox.issue("qa-workspace", fresh_user(), headers={"Prefer": "return=minimal"})
    assert r.status_code == 200 and "preference-applied" not in r.headers


def test_delay_delays_real_and_forced_responses(sandbox, fresh_user):
    for prefer in ("delay=400", "delay=400, code=503"):
        started = time.monotonic()
        r = sandbox.issue("qa-workspace", fresh_user(), headers={"Prefer": prefer})
        assert time.monotonic() - started >= 0.4
        assert r.status_code in (200, 503)


def test_forcing_still_requires_authentication(sandbox, fresh_user):
    r = sandbox.client.post(f"/partner/api/v1/workspaces/qa-workspace/users/{fresh_user()}/qr",
                            headers={"Prefer": "code=200", "X-TL-Partner-Id": "sandbox-partner"})
    assert_error(r, 401, "missing_header")


def test_forced_responses_appear_in_the_journal(start_app):
    server = start_app()
    server.issue("qa-workspace", 1, headers={"Prefer": "code=503"})
    entry = control(server, "GET", "/requests", params={"limit": 1}).json()["requests"][0]
    assert entry["status"] == 503 and entry["request_headers"]["prefer"] == "code=503"
    assert '"service_unavailable"' in entry["response_body"]


@pytest.mark.parametrize("method, path, prefer, status, error", [
    ("POST", "/partner/api/v1/workspaces", "code=409", 409, "workspace_creation_failed"),
    ("POST", "/partner/api/v1/workspaces/qa-workspace/users", "code=409", 409, "seats_full"),
    ("GET", "/partner/api/v1/workspaces/qa-workspace", "code=404", 404, "workspace_not_found"),
    ("POST", "/partner/api/v1/workspaces/qa-workspace/api-token", "code=201", 201, None),
])
def test_every_operation_honours_prefer_without_touching_state(sandbox, method, path, prefer, status, error):
    before = control(sandbox, "GET", "/workspaces/qa-workspace").json()
    r = sandbox.client.request(method, path, headers={**auth_headers(), "Prefer": prefer}, json={})
    if error:
        assert_error(r, status, error)
    else:
        assert r.status_code == status and r.headers["x-tl-api-version"] == "v1" and r.json()["rotated_at"]
    assert r.headers["preference-applied"] == prefer
    assert control(sandbox, "GET", "/workspaces/qa-workspace").json() == before

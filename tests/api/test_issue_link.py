"""Issuing QR links over HTTP: the seed's example, the response, revocation and disconnection."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta, UTC

import pytest

from tests.helpers import QR_PATH, assert_error, auth_headers, control

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]+$")


def parse_time(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text)


def link_token(response_json: dict, base_url: str) -> str:
    prefix = base_url + "/qr/"
    assert response_json["qr_link"].startswith(prefix), response_json["qr_link"]
    return response_json["qr_link"][len(prefix):]


def test_seed_example_works_against_a_fresh_sandbox(default_sandbox):
    before = datetime.now(UTC).replace(microsecond=0)
    r = default_sandbox.issue("my-first-workspace", 42)
    after = datetime.now(UTC)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-tl-api-version"] == "v1"
    body = r.json()
    assert set(body) == {"workspace_id", "user_id", "qr_link", "expires_at", "whatsapp_disconnected",
                         "previous_qr_revoked"}
    assert body["workspace_id"] == "my-first-workspace" and body["user_id"] == 42
    assert body["whatsapp_disconnected"] is False and body["previous_qr_revoked"] is False
    expires = parse_time(body["expires_at"])
    assert before + timedelta(hours=24) <= expires <= after + timedelta(hours=24)
    token = link_token(body, default_sandbox.base_url)
    assert TOKEN_RE.match(token) and len(token) >= 22  # base64url of at least 128 bits

    again = default_sandbox.issue("my-first-workspace", 42).json()
    assert again["previous_qr_revoked"] is True
    assert again["qr_link"] != body["qr_link"]


def test_default_world_user_43_has_a_connected_account_and_44_an_active_link(default_sandbox):
    first = default_sandbox.issue("my-first-workspace", 43).json()
    assert first["whatsapp_disconnected"] is True and first["previous_qr_revoked"] is False
    second = default_sandbox.issue("my-first-workspace", 43).json()
    assert second["whatsapp_disconnected"] is False  # the first call disconnected it
    assert second["previous_qr_revoked"] is True

    user44 = default_sandbox.issue("my-first-workspace", 44).json()
    assert user44["previous_qr_revoked"] is True and user44["whatsapp_disconnected"] is False


def test_default_world_has_fresh_users_45_to_60_and_other_partner_user_7(default_sandbox):
    for user in range(45, 61):
        body = default_sandbox.issue("my-first-workspace", user).json()
        assert (body["previous_qr_revoked"], body["whatsapp_disconnected"]) == (False, False), user
    r = default_sandbox.issue("other-workspace", 7, partner="other-partner")
    assert r.status_code == 200 and r.json()["previous_qr_revoked"] is False


def test_default_world_has_a_suspended_user_a_billing_managed_workspace_and_an_inactive_partner(default_sandbox):
    assert_error(default_sandbox.issue("my-first-workspace", 61), 403, "user_not_active")
    assert_error(default_sandbox.issue("billed-workspace", 70), 403, "workspace_billing_managed")
    assert_error(default_sandbox.issue("my-first-workspace", 70), 404, "user_not_in_workspace")
    assert_error(default_sandbox.issue("inactive-workspace", 80, partner="inactive-partner"), 403, "partner_not_active")


@pytest.mark.parametrize("headers", [pytest.param({}, id="fast-lane"), pytest.param({"Prefer": "delay=1"}, id="connexion")])
def test_every_success_carries_the_api_version_and_no_error_does(sandbox, fresh_user, headers):
    r = sandbox.issue("qa-workspace", fresh_user(), headers=headers)
    assert r.status_code == 200 and r.headers["x-tl-api-version"] == "v1", r.text
    assert "x-tl-api-version" not in sandbox.issue("qa-workspace", 999_999, headers=headers).headers
    state = sandbox.client.get(f"/sandbox/v1/workspaces/qa-workspace/users/{r.json()['user_id']}", headers=auth_headers())
    assert state.status_code == 200 and "x-tl-api-version" not in state.headers  # the Partner API's header only


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="no-body-no-content-type"),
        pytest.param({"json": {}}, id="empty-object"),
        pytest.param({"content": b"", "headers": {"Content-Type": "application/json"}}, id="json-zero-bytes"),
        pytest.param({"json": {"unrelated": 1}}, id="unknown-field-ignored"),
    ],
)
def test_absent_body_means_the_default_24_hours(sandbox, fresh_user, kwargs):
    r = sandbox.issue("qa-workspace", fresh_user(), **kwargs)
    assert r.status_code == 200, r.text
    issued_for = parse_time(r.json()["expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < issued_for <= timedelta(hours=24)


@pytest.mark.parametrize("hours", [1, 2, 72, 168])
def test_expires_in_hours_sets_the_expiry(sandbox, fresh_user, hours):
    r = sandbox.issue("qa-workspace", fresh_user(), json={"expires_in_hours": hours})
    assert r.status_code == 200, r.text
    remaining = parse_time(r.json()["expires_at"]) - datetime.now(UTC)
    assert timedelta(hours=hours) - timedelta(minutes=1) < remaining <= timedelta(hours=hours)


def test_reissuing_revokes_and_a_connected_account_is_disconnected_once(sandbox):
    user = 1001  # qa-connected users have a connected WhatsApp account
    first = sandbox.issue("qa-connected", user).json()
    assert (first["whatsapp_disconnected"], first["previous_qr_revoked"]) == (True, False)
    second = sandbox.issue("qa-connected", user).json()
    assert (second["whatsapp_disconnected"], second["previous_qr_revoked"]) == (False, True)


def test_links_are_distinct_and_the_store_keeps_no_token_of_a_closed_link(sandbox, fresh_user):
    """The active link's token is kept (workspaceGet answers its URL); every revoked one is gone."""
    user = fresh_user()
    links = [sandbox.issue("qa-workspace", user).json()["qr_link"] for _ in range(20)]
    assert len(set(links)) == 20
    tokens = [link.rsplit("/", 1)[1] for link in links]
    with sqlite3.connect(sandbox.db) as conn:
        dump = "\n".join(conn.iterdump())
    assert all(token not in dump for token in tokens[:-1]) and tokens[-1] in dump
    control(sandbox, "POST", f"/workspaces/qa-workspace/users/{user}/scan")  # used: closed for good
    with sqlite3.connect(sandbox.db) as conn:
        assert tokens[-1] not in "\n".join(conn.iterdump())


def test_public_url_is_the_base_of_qr_links(start_app, fresh_user):
    server = start_app("--public-url", "https://sandbox.example.test/base/")
    r = server.issue("qa-workspace", 5)
    assert r.status_code == 200
    assert r.json()["qr_link"].startswith("https://sandbox.example.test/base/qr/")


def test_concurrent_issuance_keeps_one_active_link(sandbox_process, fresh_user):
    """Forty issuances at once, over connections of their own, across the server's worker processes."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    sandbox = sandbox_process
    user = fresh_user()
    url = sandbox.base_url + QR_PATH.format(workspace="qa-workspace", user=user)

    def call(_):
        with httpx.Client(timeout=30) as client:
            return client.post(url, headers=auth_headers())

    with ThreadPoolExecutor(max_workers=40) as pool:
        responses = list(pool.map(call, range(40)))
    assert [r.status_code for r in responses] == [200] * 40
    bodies = [r.json() for r in responses]
    assert sum(1 for b in bodies if b["previous_qr_revoked"] is False) == 1
    assert len({b["qr_link"] for b in bodies}) == 40
    with sqlite3.connect(sandbox.db) as conn:
        active = conn.execute(
            "SELECT COUNT(*) FROM links WHERE workspace_id = 'qa-workspace' AND user_id = ? AND status = 'active'",
            (user,),
        ).fetchone()[0]
    assert active == 1


def test_fast_lane_and_connexion_answer_alike(sandbox, fresh_user):
    """A well-formed request takes the fast lane; any Prefer header sends it through connexion
    (which ignores an unknown preference). Both answers are the same contract."""
    fast = sandbox.issue("qa-workspace", fresh_user(), json={"expires_in_hours": 5})
    slow = sandbox.issue("qa-workspace", fresh_user(), json={"expires_in_hours": 5},
                         headers={"Prefer": "return=representation"})
    for r in (fast, slow):
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.headers["cache-control"] == "no-store" and "preference-applied" not in r.headers
    a, b = fast.json(), slow.json()
    assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}
    assert a["expires_at"][:13] == b["expires_at"][:13]
    assert (a["previous_qr_revoked"], b["previous_qr_revoked"]) == (False, False)

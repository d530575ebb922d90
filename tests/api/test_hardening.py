"""Faults, abuse and bad input: nothing lost, nobody let in, every refusal a clean error envelope."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import threading
import time

import httpx
import jwt
import pytest

from tests.helpers import QR_PATH, SECRETS, assert_error, auth_headers, control, make_token

URL = QR_PATH.format(workspace="qa-workspace", user="{user}")


# --- request ids and security headers ---------------------------------------------------------

def test_request_ids_are_kept_when_sane_and_made_otherwise(sandbox, fresh_user):
    r = sandbox.issue("qa-workspace", fresh_user(), headers={"X-Request-Id": "partner-trace.42"})
    assert r.headers["x-request-id"] == "partner-trace.42"
    for insane in ("x" * 200, "has space", "semi;colon"):
        r = sandbox.client.get("/healthz", headers={"X-Request-Id": insane})
        assert r.headers["x-request-id"] != insane and len(r.headers["x-request-id"]) == 32
    r1, r2 = sandbox.client.get("/healthz"), sandbox.client.get("/healthz")
    assert r1.headers["x-request-id"] != r2.headers["x-request-id"]


def test_security_headers_on_every_kind_of_response(sandbox, fresh_user):
    link = sandbox.issue("qa-workspace", fresh_user()).json()["qr_link"]
    responses = [
        sandbox.issue("qa-workspace", fresh_user()),  # the fast lane
        sandbox.issue("no-such-workspace", 1),  # an error from connexion
        sandbox.client.post("/partner/api/v1/workspaces/w/users/1/qr"),  # 401
        sandbox.client.get("/nope"),
        sandbox.client.get("/healthz"),
        sandbox.client.get("/partner/api/v1/openapi.json"),
        sandbox.client.get(link.replace(sandbox.base_url, "")),
        control(sandbox, "GET", "/clock"),
    ]
    for r in responses:
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
        assert "x-request-id" in r.headers
    assert responses[0].headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "script-src 'sha256-" in responses[6].headers["content-security-policy"]  # the page keeps its own


def test_the_access_log_carries_the_request_id(start_sandbox):
    server = start_sandbox()
    server.issue("qa-workspace", 1, headers={"X-Request-Id": "trace-me-123"})
    server.stop()
    assert '"request_id": "trace-me-123"' in server.output()


# --- sizes -------------------------------------------------------------------------------------

def test_a_body_over_64_kib_is_413_and_changes_nothing(sandbox, fresh_user):
    user = fresh_user()
    sandbox.issue("qa-workspace", user)
    big = b'{"expires_in_hours": 2, "pad": "' + b"x" * (70 * 1024) + b'"}'
    assert_error(sandbox.issue("qa-workspace", user, content=big, headers={"Content-Type": "application/json"}),
            413, "payload_too_large")

    def chunks():  # no Content-Length: the limit is counted while reading
        for _ in range(20):
            yield b"x" * 8192

    assert_error(sandbox.client.post(URL.format(user=user), content=chunks(),
                                headers={**auth_headers(), "Content-Type": "application/json"}),
            413, "payload_too_large")
    assert sandbox.issue("qa-workspace", user).json()["previous_qr_revoked"] is True


def test_oversized_headers_are_431(sandbox, fresh_user):
    headers = {"Authorization": "Bearer " + "a" * (9 * 1024), "X-TL-Partner-Id": "sandbox-partner"}
    assert_error(sandbox.client.post(URL.format(user=fresh_user()), headers=headers), 431, "headers_too_large")
    many = {**auth_headers(), **{f"X-Pad-{i}": "p" * 4000 for i in range(10)}}
    assert_error(sandbox.client.post(URL.format(user=fresh_user()), headers=many), 431, "headers_too_large")


@pytest.mark.parametrize("workspace", ["my%2Ffirst", "..", "%2E%2E", "a%00b", "x" * 5000, "%ff%fe", "%2e%2e%2fqa-workspace"])
def test_path_tricks_are_4xx_problems(sandbox, workspace):
    r = sandbox.client.post(f"/partner/api/v1/workspaces/{workspace}/users/1/qr", headers=auth_headers())
    assert 400 <= r.status_code < 500, r.text
    assert_error(r, r.status_code, r.json()["error"])


def test_nul_bytes_and_huge_json_are_4xx(sandbox, fresh_user):
    for body in (b'{"expires_in_hours": 1\x00}', b'{"a": [' + b"1," * 40000 + b'1]}', b'{"expires_in_hours": "\x00"}',
                 b"[" * 100000):
        r = sandbox.issue("qa-workspace", fresh_user(), content=body, headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 413), r.text


# --- faults ------------------------------------------------------------------------------------

def test_a_full_disk_is_503_with_retry_after_never_200_unstored_and_recovers(start_app, tmp_path):
    assert os.geteuid() == 0, "this test mounts a tiny tmpfs to fill up: it runs as root (CI does)"
    disk = tmp_path / "tiny"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], check=True)
    try:
        server = start_app("--workers", "1", db=str(disk / "sandbox.db"))
        answered = []
        for user in range(1, 6):
            r = server.issue("qa-workspace", user)
            answered.append(r.json()["qr_link"].rsplit("/", 1)[1])
        filler = disk / "filler"
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)  # until full
        statuses = []
        for user in (u for u in range(6, 200) if u not in (42, 43, 44)):
            r = server.issue("qa-workspace", user)
            statuses.append(r.status_code)
            if r.status_code == 200:
                answered.append(r.json()["qr_link"].rsplit("/", 1)[1])
            else:
                assert_error(r, 503, "service_unavailable")
                assert int(r.headers["retry-after"]) >= 1
        assert 503 in statuses
        print(f"full disk: {statuses.count(200)} answered 200, {statuses.count(503)} answered 503")
        filler.unlink()
        recovered = server.issue("qa-workspace", 250)
        assert recovered.status_code == 200, recovered.text
        answered.append(recovered.json()["qr_link"].rsplit("/", 1)[1])
        server.stop()
        with sqlite3.connect(disk / "sandbox.db") as conn:
            stored = {row[0] for row in conn.execute("SELECT token_sha256 FROM links")}
        assert all(hashlib.sha256(t.encode()).hexdigest() in stored for t in answered)
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_sigterm_drains_requests_in_flight_then_exits(start_sandbox):
    server = start_sandbox()
    result = {}

    def slow():
        with httpx.Client(timeout=30) as client:
            result["r"] = client.post(server.base_url + URL.format(user=30),
                                      headers={**auth_headers(), "Prefer": "delay=2000"})

    caller = threading.Thread(target=slow)
    caller.start()
    time.sleep(0.7)  # the request is in flight
    started = time.monotonic()
    os.killpg(server.proc.pid, signal.SIGTERM)
    time.sleep(0.5)
    with pytest.raises(httpx.TransportError):  # new connections are refused while it drains
        httpx.get(server.base_url + "/healthz", timeout=2)
    caller.join(30)
    assert result["r"].status_code == 200  # the request in flight finished
    assert server.proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 25  # within the bound (20 s graceful shutdown)


# --- authentication and isolation --------------------------------------------------------------

@pytest.mark.parametrize("extra", [{"kid": "other-partner"}, {"jku": "http://127.0.0.1:1/keys.json"},
                                   {"x5u": "http://127.0.0.1:1/cert.pem"}])
def test_kid_jku_x5u_headers_are_ignored(sandbox, fresh_user, extra):
    token = make_token(headers=extra)  # HS256 with the partner's own secret: the extra header changes nothing
    r = sandbox.client.post(URL.format(user=fresh_user()),
                            headers={"Authorization": f"Bearer {token}", "X-TL-Partner-Id": "sandbox-partner"})
    assert r.status_code == 200


def test_a_kid_never_selects_another_partners_secret(sandbox, fresh_user):
    token = jwt.encode({"partner_id": "sandbox-partner", "nbf": int(time.time()) - 60, "exp": int(time.time()) + 60},
                       SECRETS["other-partner"], algorithm="HS256", headers={"kid": "other-partner"})
    r = sandbox.client.post(URL.format(user=fresh_user()),
                            headers={"Authorization": f"Bearer {token}", "X-TL-Partner-Id": "sandbox-partner"})
    assert_error(r, 401, "invalid_signature")


def test_no_operation_crosses_partners(start_app):
    """Every operation of both specs, called by other-partner on sandbox-partner's world."""
    server = start_app()
    mine = server.issue("qa-workspace", 5).json()
    control(server, "POST", "/clock", json={"advance_seconds": 60})
    control(server, "PUT", "/webhook", json={"url": "http://127.0.0.1:9/mine"})
    before = control(server, "GET", "/workspaces/qa-workspace/users/5").json()
    theirs = [
        server.issue("qa-workspace", 5, partner="other-partner"),
        control(server, "GET", "/workspaces/qa-workspace/users/5", partner="other-partner"),
        control(server, "POST", "/workspaces/qa-workspace/users/5/scan", partner="other-partner"),
    ]
    assert [r.status_code for r in theirs] == [404, 404, 404]
    for r in theirs:
        assert_error(r, 404, "workspace_not_found")
    assert control(server, "POST", "/reset", partner="other-partner").status_code == 204
    assert control(server, "POST", "/clock", json={"real": True}, partner="other-partner").status_code == 200
    assert control(server, "DELETE", "/webhook", partner="other-partner").status_code == 204
    their_journal = control(server, "GET", "/requests", partner="other-partner").json()["requests"]
    assert [(e["status"], e["request_headers"]["x-tl-partner-id"]) for e in their_journal] == [(404, "other-partner")]
    assert control(server, "GET", "/webhook/deliveries", partner="other-partner").json()["deliveries"] == []
    # sandbox-partner's world is as it was
    after = control(server, "GET", "/workspaces/qa-workspace/users/5").json()
    assert after["links"] == before["links"] and after["active_link"]["expires_at"] == mine["expires_at"]
    assert control(server, "GET", "/clock").json()["offset_seconds"] >= 59
    assert control(server, "GET", "/webhook").json()["url"] == "http://127.0.0.1:9/mine"
    assert [e["path"] for e in control(server, "GET", "/requests").json()["requests"]] == [
        "/partner/api/v1/workspaces/qa-workspace/users/5/qr"]


# --- rate limiting -----------------------------------------------------------------------------

def test_rate_limit_per_partner_with_retry_after_and_ratelimit_headers(start_app):
    server = start_app("--rate-limit", "5", "--workers", "1")
    statuses = [server.issue("qa-workspace", 45 + i % 3).status_code for i in range(20)]
    assert statuses[:5] == [200] * 5 and 429 in statuses
    limited = server.issue("qa-workspace", 45)
    body = assert_error(limited, 429, "rate_limited")
    assert "limit of 5 a second" in body["description"]
    assert int(limited.headers["retry-after"]) >= 1
    assert (limited.headers["ratelimit-limit"], limited.headers["ratelimit-remaining"]) == ("5", "0")
    # the control API counts too, and another partner has a bucket of its own
    assert control(server, "GET", "/clock").status_code == 429
    assert server.issue("other-workspace", 7007, partner="other-partner").status_code == 200
    time.sleep(1.2)
    assert server.issue("qa-workspace", 45).status_code == 200  # the bucket refilled


def test_rate_limit_zero_is_off(start_app):
    server = start_app("--rate-limit", "0", "--workers", "1")
    assert {server.issue("qa-workspace", 45).status_code for _ in range(60)} == {200}


def test_production_rate_limit_is_30_a_second_per_client_ip_with_a_burst_of_10(start_app):
    """`PARTNER_SANDBOX_RATE_LIMIT=production` (as `--rate-limit production`): the published limits.
    (Real sockets from two client addresses: tests/api/test_rate_limit_shared.py.)"""
    server = start_app("--workers", "1", env={"PARTNER_SANDBOX_RATE_LIMIT": "production"})
    started = time.monotonic()
    statuses = [server.issue("qa-workspace", 45 + i % 3).status_code for i in range(70)]
    elapsed = time.monotonic() - started
    assert statuses[:40] == [200] * 40, statuses  # 30 a second and 10 more at once
    assert 429 in statuses and statuses.count(200) <= 40 + 30 * elapsed + 1, (statuses, elapsed)
    limited = server.client.post(URL.format(user=45))  # counted before authentication: any request of the IP
    body = assert_error(limited, 429, "rate_limited")
    assert "client IP" in body["description"] and "limit of 30 a second" in body["description"]
    assert int(limited.headers["retry-after"]) >= 1 and limited.headers["ratelimit-limit"] == "30"
    assert control(server, "GET", "/clock").status_code == 200  # the control API is not limited
    other_ip = server.client_from("127.0.0.2")
    with other_ip:
        r = other_ip.post(URL.format(user=45), headers=auth_headers())
    assert r.status_code == 200, r.text  # another client IP has a bucket of its own
    time.sleep(1.2)
    assert server.issue("qa-workspace", 45).status_code == 200  # the bucket refilled


def test_a_rate_limit_that_is_neither_a_number_nor_production_stops_start_up(tmp_path):
    from tests.servers import SandboxProcess

    server = SandboxProcess(tmp_path, args=("--rate-limit", "fast"))
    with pytest.raises(RuntimeError, match="'fast' is neither 'production' nor a number"):
        server.start()

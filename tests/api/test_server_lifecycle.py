"""The server as users run it: persistence across restarts and kill -9, flags, env, fixtures, CLI."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import threading
import time

import httpx

from partner_sandbox.qa.server import ServerProcess, serve_command
from tests.helpers import QR_PATH, SECRETS, auth_headers, free_port
from tests.receivers import Receiver

SECRETS_ALL = list(SECRETS.values())
URL_PASSWORD, URL_SECRET, COOKIE_SECRET = "pw-9f3a1c7e", "sig-77b2d0e4", "cookie-5e8c21aa"


def test_state_survives_a_restart(start_sandbox):
    server = start_sandbox()
    assert server.issue("qa-connected", 1005).json()["whatsapp_disconnected"] is True
    server.issue("qa-workspace", 9)
    server.restart()
    after = server.issue("qa-connected", 1005).json()
    assert after["whatsapp_disconnected"] is False and after["previous_qr_revoked"] is True
    assert server.issue("qa-workspace", 9).json()["previous_qr_revoked"] is True


def test_nothing_answered_200_is_lost_to_kill_9_under_load(start_sandbox):
    server = start_sandbox()
    url = server.base_url + QR_PATH.format(workspace="qa-workspace", user="{user}")
    answered: list[tuple[int, str]] = []
    stop = threading.Event()

    def client(users: range) -> None:
        with httpx.Client(timeout=5) as http:
            while not stop.is_set():
                for user in users:
                    try:
                        r = http.post(url.format(user=user), headers=auth_headers())
                    except httpx.TransportError:
                        return
                    if r.status_code == 200:
                        answered.append((user, r.json()["qr_link"].rsplit("/", 1)[1]))

    threads = [threading.Thread(target=client, args=(range(10 * i + 1, 10 * i + 11),)) for i in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(answered) < 200 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.kill9()
    stop.set()
    for t in threads:
        t.join()
    assert len(answered) >= 200

    server.start()  # same database, no manual repair
    with sqlite3.connect(server.db) as conn:
        stored = dict(conn.execute("SELECT token_sha256, status FROM links WHERE workspace_id = 'qa-workspace'"))
        doubles = conn.execute(
            "SELECT user_id FROM links WHERE status = 'active' GROUP BY workspace_id, user_id HAVING COUNT(*) > 1"
        ).fetchall()
    assert doubles == []
    lost = [user for user, token in answered if hashlib.sha256(token.encode()).hexdigest() not in stored]
    print(f"kill -9 under load: {len(answered)} links answered 200, {len(lost)} lost")
    assert lost == []
    last = dict(answered)  # each user's last answered link
    for user, token in last.items():
        status = stored[hashlib.sha256(token.encode()).hexdigest()]
        assert status in ("active", "revoked"), (user, status)
    # and the server keeps serving on the recovered database
    assert server.issue("qa-workspace", 1).json()["previous_qr_revoked"] is True


def test_reset_reseeds_from_the_fixtures(start_sandbox):
    server = start_sandbox()
    server.issue("qa-connected", 1003)
    server.issue("qa-workspace", 3)
    server.restart("--reset")
    assert server.issue("qa-connected", 1003).json()["whatsapp_disconnected"] is True
    assert server.issue("qa-workspace", 3).json()["previous_qr_revoked"] is False


def test_memory_database_is_throwaway(start_sandbox, tmp_path):
    server = start_sandbox(db=":memory:")
    server.issue("qa-workspace", 4)
    assert server.issue("qa-workspace", 4).json()["previous_qr_revoked"] is True
    server.restart()
    assert server.issue("qa-workspace", 4).json()["previous_qr_revoked"] is False
    assert not list(tmp_path.glob("*.db")) and not (tmp_path / ":memory:").exists()


def test_default_database_lives_under_dot_sandbox(tmp_path):
    port = free_port()
    server = ServerProcess(serve_command(port), port=port, cwd=tmp_path, log=tmp_path / "server.log")  # no --db
    try:
        server.start()
        r = httpx.post(server.base_url + QR_PATH.format(workspace="my-first-workspace", user=42), headers=auth_headers())
        assert r.status_code == 200, r.text
    finally:
        server.stop()
    assert (tmp_path / ".sandbox" / "sandbox.db").is_file()


def test_environment_variables_mirror_the_flags(start_sandbox):
    server = start_sandbox(env={"PARTNER_SANDBOX_PUBLIC_URL": "https://env.example.test"})
    assert server.issue("qa-workspace", 6).json()["qr_link"].startswith("https://env.example.test/qr/")


def test_bad_fixture_file_stops_start_up_with_file_path_and_reason(start_sandbox, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "partners:\n"
        "  - id: p\n"
        "    secret: a-secret-that-is-long-enough-for-hs256\n"
        "    workspaces:\n"
        "      - id: w\n"
        "        users:\n"
        "          - id: 1\n"
        "          - id: two\n"
    )
    server = start_sandbox(fixtures=bad, wait=False)
    assert server.proc.wait(timeout=30) == 2
    out = server.output()
    assert f"{bad}:8: partners[0].workspaces[0].users[1].id: 'two' is not of type 'integer'" in out
    assert "Uvicorn running" not in out


def test_health_spec_and_swagger_ui_are_served(sandbox_process):
    sandbox = sandbox_process
    assert sandbox.client.get("/healthz").json() == {"status": "ok"}
    spec = sandbox.client.get("/partner/api/v1/openapi.json").json()
    assert "/workspaces/{workspace_id}/users/{user_id}/qr" in spec["paths"]
    ui = sandbox.client.get("/partner/api/v1/ui/")
    assert ui.status_code == 200 and "swagger" in ui.text.lower()


def test_token_command_prints_a_working_jwt(sandbox_process):
    sandbox = sandbox_process
    out = subprocess.run([sys.executable, "-m", "partner_sandbox", "token"], capture_output=True, text=True,
                         check=True).stdout
    lines = out.splitlines()
    assert len(lines) == 1 and lines[0].count(".") == 2
    r = sandbox.client.post(QR_PATH.format(workspace="qa-workspace", user=299),
                            headers={"Authorization": f"Bearer {lines[0]}", "X-TL-Partner-Id": "sandbox-partner"})
    assert r.status_code == 200, r.text


def test_token_command_for_another_partner_and_ttl():
    import jwt

    out = subprocess.run([sys.executable, "-m", "partner_sandbox", "token", "--partner-id", "other-partner",
                          "--ttl", "120"], capture_output=True, text=True, check=True).stdout.strip()
    claims = jwt.decode(out, "other-partner-secret-for-local-testing", algorithms=["HS256"])
    assert claims["partner_id"] == "other-partner"
    assert 100 <= claims["exp"] - time.time() <= 120
    unknown = subprocess.run([sys.executable, "-m", "partner_sandbox", "token", "--partner-id", "nobody"],
                             capture_output=True, text=True)
    assert unknown.returncode == 2 and "no partner 'nobody'" in unknown.stderr


def test_logs_never_contain_tokens_secrets_link_tokens_or_public_api_tokens(start_sandbox):
    """Everything the server writes during a run of every kind of request, grepped."""
    server = start_sandbox("--log-level", "debug", "--webhook-backoff", "0.05", "--webhook-attempts", "2")
    jwts = []

    def headers(partner="sandbox-partner", **extra):
        h = auth_headers(partner)
        jwts.append(h["Authorization"].split()[1])
        return {**h, **extra}

    links = []
    qr = "/partner/api/v1/workspaces/qa-workspace/users/{}/qr"
    for user in (10, 11):
        links.append(server.client.post(qr.format(user), headers=headers()).json()["qr_link"].rsplit("/", 1)[1])
    server.client.post(qr.format(10), headers=headers(**{"Content-Type": "application/json"}), content=b"{bad")
    server.client.post(qr.format(10), headers=headers(Prefer="code=503"))
    server.client.post(qr.format(10), headers={"Authorization": "Bearer " + jwts[0][:-4] + "AAAA",
                                               "X-TL-Partner-Id": "sandbox-partner"})
    server.client.get("/qr/" + links[0])
    server.client.get("/qr//" + links[0])  # a doubled slash still names the link
    server.client.post(f"/qr/{links[1]}/scan")
    # A receiver that answers (httpx logs each request it makes), its URL carrying credentials.
    receiver = Receiver()
    hook = f"http://hookuser:{URL_PASSWORD}@127.0.0.1:{receiver.port}/hooks?sig={URL_SECRET}"
    server.client.request("PUT", "/sandbox/v1/webhook", headers=headers(), json={"url": hook})
    server.client.post(qr.format(11), headers=headers())  # disconnects: a webhook attempt, signed
    receiver.wait_for(1)
    receiver.stop()
    cookies = {"Cookie": f"session={COOKIE_SECRET}", "Proxy-Authorization": f"Basic {COOKIE_SECRET}"}
    server.client.get("/partner/api/v1/workspaces/qa-workspace", headers=headers(**cookies))
    api_tokens = [server.client.get("/partner/api/v1/workspaces/qa-workspace/api-token", headers=headers()).json()["token"],
                  server.client.post("/partner/api/v1/workspaces/qa-workspace/api-token", headers=headers()).json()["token"]]
    server.client.post("/sandbox/v1/public-api-token/check", headers=headers(), json={"token": api_tokens[1]})
    journal = server.client.get("/sandbox/v1/requests", headers=headers()).text
    assert COOKIE_SECRET not in journal and '"cookie": "<redacted>"' in journal.lower()
    time.sleep(0.5)
    server.stop()
    out = server.output()
    assert '"path": "/qr/<redacted>"' in out and '"path": "/qr/<redacted>/scan"' in out  # the log saw them
    assert "webhook" in out  # and the delivery attempt
    assert "HTTP Request: POST http://<redacted>@127.0.0.1" in out  # httpx's own line, redacted
    for secret in [*jwts, SECRETS_ALL[0], SECRETS_ALL[1], *links, *api_tokens, URL_PASSWORD, URL_SECRET, COOKIE_SECRET]:
        assert secret not in out
    assert "eyJ" not in out  # no JWT of any kind (webhook signatures included): their header starts so

"""What the tests share besides servers: the project's paths, the test world's secrets, partner JWTs,
and checks of the error envelope. Servers (processes and in-process apps) are in tests/servers.py."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import jwt

from partner_sandbox.qa.server import free_port  # noqa: F401  (for the tests: one place to get it)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FIXTURES = ROOT / "fixtures" / "default.yaml"
TEST_WORLD = ROOT / "tests" / "fixtures" / "world.yaml"
SECRETS = {
    "sandbox-partner": "sandbox-partner-secret-for-local-testing",
    "other-partner": "other-partner-secret-for-local-testing",
    "inactive-partner": "inactive-partner-secret-for-local-testing",
}
ENVELOPE_KEYS = {"error", "status", "description"}
QR_PATH = "/partner/api/v1/workspaces/{workspace}/users/{user}/qr"


def make_token(partner: str = "sandbox-partner", *, secret: str | None = None, algorithm: str = "HS256",
               headers: dict | None = None, **claims) -> str:
    """A JWT of the partner guide's shape (nbf = now - 3 min, exp = now + 3 min) signed with the
    partner's secret; `claims` override (a None value drops the claim)."""
    now = int(time.time())
    payload = {"partner_id": partner, "nbf": now - 180, "exp": now + 180}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    key = secret if secret is not None else SECRETS.get(partner, "x" * 40)
    return jwt.encode(payload, key, algorithm=algorithm, headers=headers)


def assert_error(r: httpx.Response, status: int, code: str) -> dict:
    """The answer is the published error envelope with this status and code; returns the body."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json", r.headers
    body = r.json()
    assert set(body) == ENVELOPE_KEYS, body
    assert (body["error"], body["status"]) == (code, status), body
    assert body["description"], body
    assert "x-tl-api-version" not in r.headers  # only successes carry it
    return body


def auth_headers(partner_id: str = "sandbox-partner", **claims) -> dict:
    return {"Authorization": f"Bearer {make_token(partner_id, **claims)}", "X-TL-Partner-Id": partner_id}


def control(server, method: str, path: str, *, partner: str = "sandbox-partner", **kwargs) -> httpx.Response:
    """A call to the control API (/sandbox/v1) with a fresh token for `partner`."""
    headers = {**auth_headers(partner), **kwargs.pop("headers", {})}
    return server.client.request(method, "/sandbox/v1" + path, headers=headers, **kwargs)


def deliveries(server, partner="sandbox-partner"):
    """The partner's webhook delivery log (the control API's listDeliveries)."""
    return control(server, "GET", "/webhook/deliveries", partner=partner).json()["deliveries"]


def wait_status(server, status, count, timeout=20):
    """The delivery log once `count` of its events have `status` (pending, delivered, failed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = deliveries(server)
        if sum(1 for d in found if d["status"] == status) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not {count} {status}: {deliveries(server)}")

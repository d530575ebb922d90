"""A pytest plugin for partners' own suites: the `partner_sandbox` fixture runs a live sandbox (in
memory, on a free port) for the test session. Installed with the package (entry point pytest11)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ..auth import Partner, mint_token
from ..fixtures import load_world
from ..resources import default_fixtures_path
from .server import ServerProcess, free_port, serve_command


class PublicApiClient(httpx.Client):
    """A Public API client of one workspace (`LiveSandbox.public_api`): an httpx client on
    `/integrations/api` with the workspace's token as `Authorization: Bearer`, and the six
    operations as methods returning the answer's `data` (raising on an error; raw calls still work:
    `client.get("/workspace")`). Nothing a message "sends" leaves the sandbox."""

    def __init__(self, base_url: str, token: str):
        super().__init__(base_url=base_url + PUBLIC_API, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        self.token = token

    def _data(self, response: httpx.Response):
        response.raise_for_status()
        return response.json()["data"]

    def whatsapp_accounts(self) -> list[dict]:
        return self._data(self.get("/whatsapp_accounts"))["whatsapp_accounts"]

    def workspace(self) -> dict:
        return self._data(self.get("/workspace"))

    def teammates(self) -> list[dict]:
        return self._data(self.get("/workspace/teammates"))["teammates"]

    def send_message(self, phone: str, text: str | None = None, **fields) -> str:
        """POST /messages: the new message's uid."""
        body = {"phone": phone, **({"text": text} if text is not None else {}), **fields}
        return self._data(self.post("/messages", json=body))["message_uid"]

    def message(self, message_uid: str) -> dict:
        return self._data(self.get(f"/messages/{message_uid}"))

    def status_history(self, message_uid: str) -> list[dict]:
        return self._data(self.get(f"/messages/{message_uid}/status_history"))


PUBLIC_API = "/integrations/api"


class LiveSandbox:
    """A running sandbox: its URL, tokens for its partners, and the control API as methods."""

    def __init__(self, fixtures: Path):
        self.fixtures = fixtures
        self._partners = {p.id: Partner(p.id, p.secret) for p in load_world(fixtures).partners}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        command = serve_command(self.port, "--log-level", "warning", db=":memory:", fixtures=fixtures)
        self._server = ServerProcess(command, port=self.port, name="sandbox")
        try:
            self._server.start(timeout=60)
        except Exception:
            self._server.close()
            raise
        self.client = httpx.Client(base_url=self.base_url, timeout=30)
        self._public_clients: list[PublicApiClient] = []

    def token(self, partner_id: str = "sandbox-partner", ttl_seconds: int = 600) -> str:
        """A valid JWT for a fixture partner."""
        return mint_token(self._partners[partner_id], ttl_seconds=ttl_seconds)

    def headers(self, partner_id: str = "sandbox-partner") -> dict:
        return {"Authorization": f"Bearer {self.token(partner_id)}", "X-TL-Partner-Id": partner_id}

    def issue_qr(self, workspace_id: str, user_id: int, *, partner_id: str = "sandbox-partner",
                 **json_body) -> httpx.Response:
        """POST .../qr, with `expires_in_hours=...` as the body when given."""
        return self.client.post(f"/partner/api/v1/workspaces/{workspace_id}/users/{user_id}/qr",
                                json=json_body or None, headers=self.headers(partner_id))

    def new_workspace(self, *, seats: int = 3, users: int = 0, partner_id: str = "sandbox-partner") -> dict:
        """A fresh workspace of the test's own (`workspaceCreate`, then `users` agents with
        `workspaceCreateUsers`): the workspace details (`workspaceGet`)."""
        import uuid

        api = "/partner/api/v1/workspaces"
        headers = self.headers(partner_id)
        created = self.client.post(api, headers=headers, json={"display_name": f"test-{uuid.uuid4().hex[:20]}",
                                                               "seats_purchased": seats})
        created.raise_for_status()
        workspace_id = created.json()["workspace_id"]
        if users:
            self.client.post(f"{api}/{workspace_id}/users", headers=headers, json={"count": users}).raise_for_status()
        details = self.client.get(f"{api}/{workspace_id}", headers=headers)
        details.raise_for_status()
        return details.json()

    def use(self, workspace_id: str, *, partner_id: str = "sandbox-partner", **amount: int) -> dict:
        """Simulate use of a quota: `messages=N`, `api_calls=N` or `transactions=N`."""
        return self._control("POST", f"/workspaces/{workspace_id}/usage", partner_id, json=amount).json()

    def _control(self, method: str, path: str, partner_id: str, **kwargs) -> httpx.Response:
        response = self.client.request(method, "/sandbox/v1" + path, headers=self.headers(partner_id), **kwargs)
        response.raise_for_status()
        return response

    def user(self, workspace_id: str, user_id: int, *, partner_id: str = "sandbox-partner") -> dict:
        return self._control("GET", f"/workspaces/{workspace_id}/users/{user_id}", partner_id).json()

    def scan(self, workspace_id: str, user_id: int, *, partner_id: str = "sandbox-partner") -> dict:
        """Simulate the end user scanning their active QR link."""
        return self._control("POST", f"/workspaces/{workspace_id}/users/{user_id}/scan", partner_id).json()

    def enter_pairing_code(self, workspace_id: str, user_id: int, code: str, *,
                           partner_id: str = "sandbox-partner") -> dict:
        """Simulate the phone entering the pairing code the embedded page sent (TIMELINES_PAIRING_CODE)."""
        return self._control("POST", f"/workspaces/{workspace_id}/users/{user_id}/pairing-code", partner_id,
                             json={"code": code}).json()

    def fail_next(self, workspace_id: str, user_id: int, cause: str, *, partner_id: str = "sandbox-partner") -> None:
        """Make the user's next pairing step fail with a published cause (e.g. "banned")."""
        self._control("PUT", f"/workspaces/{workspace_id}/users/{user_id}/next-failure", partner_id,
                      json={"cause": cause})

    def set_embedding_origins(self, *origins: str, partner_id: str = "sandbox-partner") -> list[str]:
        """The origins that may embed the partner's QR links (?display_mode=embedding)."""
        return self._control("PUT", "/embedding-origins", partner_id, json={"origins": list(origins)}).json()["origins"]

    def advance_clock(self, seconds: int, *, partner_id: str = "sandbox-partner") -> dict:
        return self._control("POST", "/clock", partner_id, json={"advance_seconds": seconds}).json()

    def set_clock(self, command: dict, *, partner_id: str = "sandbox-partner") -> dict:
        return self._control("POST", "/clock", partner_id, json=command).json()

    def reset(self, *, partner_id: str = "sandbox-partner") -> None:
        self._control("POST", "/reset", partner_id)

    def requests(self, limit: int = 20, *, partner_id: str = "sandbox-partner") -> list[dict]:
        return self._control("GET", "/requests", partner_id, params={"limit": limit}).json()["requests"]

    # --- the Public API: the workspace's token, a client with it, the messages it sent ------------------

    def public_api_token(self, workspace_id: str, *, partner_id: str = "sandbox-partner") -> str:
        """The workspace's current Public API token (the Partner API's GET .../api-token)."""
        response = self.client.get(f"/partner/api/v1/workspaces/{workspace_id}/api-token", headers=self.headers(partner_id))
        response.raise_for_status()
        return response.json()["token"]

    def rotate_public_api_token(self, workspace_id: str, *, partner_id: str = "sandbox-partner") -> str:
        """A new token (the Partner API's POST .../api-token); the previous one is 401 from now on."""
        response = self.client.post(f"/partner/api/v1/workspaces/{workspace_id}/api-token", headers=self.headers(partner_id))
        response.raise_for_status()
        return response.json()["token"]

    def public_api(self, workspace_id: str, *, partner_id: str = "sandbox-partner") -> PublicApiClient:
        """A ready Public API client for the workspace, with its current token (closed with the sandbox)."""
        client = PublicApiClient(self.base_url, self.public_api_token(workspace_id, partner_id=partner_id))
        self._public_clients.append(client)
        return client

    def sent_messages(self, workspace_id: str, *, limit: int = 100, partner_id: str = "sandbox-partner") -> list[dict]:
        """What the workspace sent through the Public API, newest first (the control API)."""
        return self._control("GET", f"/workspaces/{workspace_id}/messages", partner_id,
                             params={"limit": limit}).json()["messages"]

    def stop(self) -> None:
        for client in self._public_clients:
            client.close()
        self.client.close()
        self._server.close()


def pytest_addoption(parser):
    parser.addini("partner_sandbox_fixtures", "fixture file of the partner_sandbox fixture (default: the packaged world)")


@pytest.fixture(scope="session")
def partner_sandbox(pytestconfig):
    """A live partner sandbox for the test session, with in-memory state (see LiveSandbox)."""
    fixtures = pytestconfig.getini("partner_sandbox_fixtures") or default_fixtures_path()
    sandbox = LiveSandbox(Path(fixtures))
    yield sandbox
    sandbox.stop()

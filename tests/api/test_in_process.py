"""The in-process sandbox (tests/servers.py) the API tests use answers as a server process does: the
same statuses, headers and bodies, but for what uvicorn itself adds (Date, Server)."""

from __future__ import annotations

import httpx
import pytest

from tests.helpers import auth_headers

UVICORN_OWN = {"date", "server"}


@pytest.mark.parametrize("method, path, authenticated", [
    ("GET", "/healthz", False),
    ("GET", "/partner/api/v1/openapi.json", False),
    ("GET", "/sandbox/v1/clock", False),  # 401 and its challenge
    ("GET", "/partner/api/v1/workspaces/no-such-workspace", True),  # 404 envelope
    ("POST", "/partner/api/v1/workspaces/qa-workspace/users/1/qr", True),  # the fast lane: a new link each time
    ("DELETE", "/sandbox/v1/reset", True),  # 405
    ("GET", "/qr/no-such-token-000000000000000", False),  # a page
])
def test_the_in_process_answer_is_the_process_answer(sandbox, sandbox_process, method, path, authenticated):
    def answer(server) -> tuple[int, dict, bytes]:
        headers = {**(auth_headers() if authenticated else {}), "X-Request-Id": "same-id"}
        r = server.client.request(method, path, headers=headers)
        return r.status_code, {k: v for k, v in r.headers.items() if k not in UVICORN_OWN}, r.content

    in_process, real = answer(sandbox), answer(sandbox_process)
    if path.endswith("/qr"):  # each answer is a new link: the same but for its token, expiry and length
        assert in_process[0] == real[0] == 200
        assert {k: v for k, v in in_process[1].items() if k != "content-length"} == \
            {k: v for k, v in real[1].items() if k != "content-length"}
        assert httpx.Response(200, content=in_process[2]).json().keys() == httpx.Response(200, content=real[2]).json().keys()
    else:
        assert in_process == real


def test_a_real_connection_to_the_in_process_sandbox_is_refused_at_once(sandbox):
    """Its port is held but no one listens: a test that reached for a socket by mistake fails loudly."""
    with pytest.raises(httpx.ConnectError):
        httpx.get(sandbox.base_url + "/healthz", timeout=5)

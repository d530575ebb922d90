"""The one pipeline (web/pipeline.py): it answers an ordinary request of every operation itself, hands
every unusual or refused one to connexion untouched, and answers exactly what connexion's path answers."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from partner_sandbox.offload import StoreCalls
from partner_sandbox.resources import control_spec_path, public_spec_path, spec_path
from partner_sandbox.store import StoreUnavailable
from partner_sandbox.spec import SpecDocument
from partner_sandbox.web.pipeline import Pipeline
from partner_sandbox.web.versioning import VersionRule
from tests.helpers import QR_PATH, assert_error, auth_headers

SPECS = [SpecDocument.load(p) for p in (spec_path(), control_spec_path(), public_spec_path())]


class Connexion:
    """Stands for connexion's layers below the pipeline: records what reaches it, body included."""

    def __init__(self):
        self.reached: list[tuple[str, bytes]] = []

    async def __call__(self, scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.reached.append((scope["path"], body))
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})


@pytest.fixture(scope="module")
def lane(start_module_app):
    app = start_module_app()
    below = Connexion()
    sandbox = app._state["sandbox"]
    pipeline = Pipeline(below, sandbox=sandbox, specs=SPECS, validate_responses=True,
                        version=VersionRule(SPECS[0].base_path), calls=StoreCalls(sandbox.store))

    def call(method: str, path: str, headers: dict, body: bytes = b"", query: bytes = b"", extra=()):
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()] + list(extra)
        if body:
            raw.append((b"content-length", str(len(body)).encode()))
        scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": raw,
                 "state": dict(app._state), "root_path": ""}
        sent: list[dict] = []
        pending = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive():
            return pending.pop(0)

        async def send(message):
            sent.append(message)

        before = len(below.reached)
        asyncio.run_coroutine_threadsafe(pipeline(scope, receive, send), app._loop).result(30)
        start = sent[0]
        payload = b"".join(m.get("body", b"") for m in sent[1:])
        return start["status"], dict(start["headers"]), payload, below.reached[before:]

    return app, call


def qr_headers(**extra) -> dict:
    return {**auth_headers(), "Content-Type": "application/json", **extra}


def test_an_ordinary_request_is_answered_by_the_pipeline(lane, fresh_user):
    app, call = lane
    user = fresh_user()
    status, headers, payload, reached = call("POST", QR_PATH.format(workspace="qa-workspace", user=user), qr_headers(),
                                             b'{"expires_in_hours": 2}')
    assert (status, reached) == (200, [])
    assert headers[b"x-tl-api-version"] == b"v1" and headers[b"cache-control"] == b"no-store"
    assert json.loads(payload)["user_id"] == user
    status, _, payload, reached = call("GET", "/partner/api/v1/workspaces/qa-workspace", auth_headers())
    assert (status, reached) == (200, []) and json.loads(payload)["workspace_id"] == "qa-workspace"


@pytest.mark.parametrize("case", ["bad body", "wrong type", "prefer", "repeated header", "unknown query", "bad token",
                                  "missing partner header", "body on a GET", "too long an id"])
def test_an_unusual_or_refused_request_goes_to_connexion_untouched_and_changes_nothing(lane, fresh_user, case):
    app, call = lane
    user = fresh_user()
    path, headers, body, query, extra = QR_PATH.format(workspace="qa-workspace", user=user), qr_headers(), b"{}", b"", []
    if case == "bad body":
        body = b'{"expires_in_hours": 0}'
    elif case == "wrong type":
        headers["Content-Type"] = "text/plain"
    elif case == "prefer":
        headers["Prefer"] = "code=200"
    elif case == "repeated header":
        extra = [(b"x-extra", b"1"), (b"x-extra", b"2")]
    elif case == "unknown query":
        query = b"debug=1"
    elif case == "bad token":
        headers = {**headers, **auth_headers(secret="not-the-secret")}
    elif case == "missing partner header":
        del headers["X-TL-Partner-Id"]
    elif case == "body on a GET":
        path = "/partner/api/v1/workspaces/qa-workspace"
    elif case == "too long an id":
        path = QR_PATH.format(workspace="qa-workspace", user="9" * 30)
    status, _, _, reached = call("GET" if case == "body on a GET" else "POST", path, headers, body, query, extra)
    assert status == 599 and reached == [(path, body)]  # the body replayed whole
    if case != "too long an id":  # nothing was issued on the way
        assert app._state["sandbox"].user_view("sandbox-partner", "qa-workspace", user).links == []


def test_a_refusal_of_the_operation_is_rendered_by_the_one_renderer(lane):
    _, call = lane
    status, headers, payload, reached = call("GET", "/partner/api/v1/workspaces/no-such-workspace", auth_headers())
    assert (status, reached) == (404, [])
    assert headers[b"content-type"] == b"application/json" and b"x-tl-api-version" not in headers
    assert json.loads(payload) == {"error": "workspace_not_found", "status": 404,
                                   "description": json.loads(payload)["description"]}


# Requests answered the same on both paths: a repeated harmless header sends a request down connexion's.
SAME = [
    ("GET", "/partner/api/v1/workspaces/qa-workspace", None),
    ("GET", "/partner/api/v1/workspaces/no-such-workspace", None),
    ("GET", "/partner/api/v1/workspaces/qa-workspace/api-token", None),
    ("PATCH", "/partner/api/v1/workspaces/no-such-workspace", b'{"display_name": "x"}'),
    ("POST", "/partner/api/v1/workspaces/no-such-workspace/users", b'{"count": 1}'),
    ("POST", "/partner/api/v1/workspaces/qa-workspace/users/999999/qr", b"{}"),
    ("POST", "/partner/api/v1/workspaces/qa-workspace/users/999999/whatsapp/disconnect", None),
    ("GET", "/sandbox/v1/clock", None),
    ("GET", "/sandbox/v1/workspaces/qa-workspace/users/1", None),
    ("GET", "/sandbox/v1/webhook", None),
    ("GET", "/sandbox/v1/embedding-origins", None),
    ("POST", "/sandbox/v1/workspaces/qa-workspace/users/999999/scan", None),
    ("DELETE", "/sandbox/v1/webhook", None),  # 204
    ("DELETE", "/sandbox/v1/workspaces/qa-workspace/users/1/next-failure", None),  # 204
    ("PUT", "/sandbox/v1/embedding-origins", b'{"origins": ["https://partner.example"]}'),
]


@pytest.mark.parametrize(("method", "path", "body"), SAME)
def test_the_pipeline_answers_these_itself(lane, method, path, body):
    _, call = lane
    headers = {**auth_headers(), **({"Content-Type": "application/json"} if body else {})}
    status, _, _, reached = call(method, path, headers, body or b"")
    assert reached == [] and status != 599


@pytest.mark.parametrize(("method", "path", "body"), SAME)
def test_both_paths_answer_alike(app, method, path, body):
    headers = {**auth_headers(), **({"Content-Type": "application/json"} if body else {})}
    answers = []
    for extra in ({}, {"X-Twice": ["a", "b"]}):
        raw = list(headers.items()) + [(k, v) for k, values in extra.items() for v in values]
        answers.append(app.client.request(method, path, headers=raw, content=body))
    fast, slow = answers
    assert fast.status_code == slow.status_code, (fast.text, slow.text)
    assert fast.content == slow.content
    ignore = {"x-request-id", "date"}
    assert sorted((k, v) for k, v in fast.headers.items() if k not in ignore) == \
        sorted((k, v) for k, v in slow.headers.items() if k not in ignore)
    if fast.status_code >= 400:
        assert_error(fast, fast.status_code, fast.json()["error"])


def test_a_store_failure_in_the_public_api_credentials_check_is_answered_503_by_the_pipeline(lane, monkeypatch):
    app, call = lane

    def unavailable(self, authorization):
        raise StoreUnavailable("The sandbox cannot write its database now; retry shortly")

    monkeypatch.setattr(type(app._state["sandbox"]), "public_api_caller", unavailable)
    status, headers, payload, reached = call("GET", "/integrations/api/whatsapp_accounts",
                                             {"Authorization": "Bearer some-token"})
    assert (status, reached) == (503, []), payload  # not a 500, and not tried again down connexion's path
    assert headers[b"retry-after"] == b"1" and json.loads(payload)["status"] == "error"


def test_a_write_whose_group_cannot_commit_is_the_503_envelope_and_stores_nothing(app, fresh_user, monkeypatch):
    sandbox = app._state["sandbox"]
    store, user = sandbox.store, fresh_user()
    real_group = store.group

    @contextlib.contextmanager
    def failing_group(**kwargs):
        with real_group(**kwargs):
            yield
            store._conn.execute("ROLLBACK")  # as when the disk is full: the group cannot commit

    monkeypatch.setattr(store, "group", failing_group)
    r = app.client.post(QR_PATH.format(workspace="qa-workspace", user=user), json={}, headers=auth_headers())
    assert_error(r, 503, "service_unavailable")
    monkeypatch.undo()
    assert sandbox.user_view("sandbox-partner", "qa-workspace", user).links == []
    r = app.client.post(QR_PATH.format(workspace="qa-workspace", user=user), json={}, headers=auth_headers())
    assert r.status_code == 200 and len(sandbox.user_view("sandbox-partner", "qa-workspace", user).links) == 1

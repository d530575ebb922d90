"""The sandboxes the tests talk to, all with one interface (`client`, `base_url`, `port`, `db`,
`issue`, `qr_link`, `stop`):

- `SandboxProcess`: `partner-sandbox serve` as a real process on a free port (the spawner of
  partner_sandbox/qa/server.py), for what only a process shows: the CLI and its flags, signals,
  `--workers`, kill -9 and restarts on the same database, the HTTP/1.1 protocol layer, the log on
  stderr, replicas on PostgreSQL, and clients that open sockets of their own (browsers, other
  languages, concurrency across worker processes).
- `InProcessSandbox`: the same app (`create_app`, from the same flags through the CLI's own parser)
  served in this process through httpx's ASGI transport: no process to start, no socket (request
  and answer heads are still checked as h11 checks them); for API behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import subprocess
import threading
from pathlib import Path
from collections.abc import Mapping

import h11
import httpx

from partner_sandbox.qa.server import ServerProcess, free_port, serve_command

from tests.helpers import QR_PATH, TEST_WORLD, auth_headers

REQUEST_TIMEOUT = 30


class _Sandbox:
    """What every sandbox of the tests offers over its `client`."""

    client: httpx.Client
    base_url: str

    def issue(self, workspace: str, user, *, partner: str = "sandbox-partner", json=None, headers=None,
              **kwargs) -> httpx.Response:
        all_headers = auth_headers(partner)
        all_headers.update(headers or {})
        return self.client.post(QR_PATH.format(workspace=workspace, user=user), json=json, headers=all_headers,
                                **kwargs)

    def qr_link(self, workspace: str, user: int) -> str:
        """A new link for the user (its earlier one revoked): its `qr_link`."""
        r = self.issue(workspace, user)
        assert r.status_code == 200, r.text
        return r.json()["qr_link"]


class SandboxProcess(_Sandbox):
    """One `partner-sandbox serve` process on its own port and (unless given one) its own SQLite file
    in `tmp`; restartable on the same database. `args` are more flags; `env` more variables."""

    def __init__(self, tmp: Path, *, db: str | None = None, fixtures: Path = TEST_WORLD,
                 args: tuple[str, ...] = (), env: dict | None = None):
        self.tmp = tmp
        self.db = db if db is not None else str(tmp / "sandbox.db")
        self.fixtures = fixtures
        self.args = tuple(args)
        self.env = env or {}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / f"server-{self.port}.log"
        self._extra: tuple[str, ...] = ()
        self.process = ServerProcess(lambda: self.command(*self._extra), port=self.port, extra_env=self.env,
                                     cwd=self.tmp, log=self.log_path, name="sandbox")
        self.client = httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT)

    def command(self, *extra: str) -> list[str]:
        return serve_command(self.port, *self.args, *extra, db=self.db, fixtures=self.fixtures)

    @property
    def proc(self) -> subprocess.Popen | None:
        return self.process.proc

    def start(self, *extra: str, wait: bool = True) -> SandboxProcess:
        self._extra = extra
        self.process.start(wait=wait)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        self.process.wait_ready(timeout)

    def output(self) -> str:
        return self.process.output()

    def stop(self) -> None:
        self.process.stop()

    def kill9(self) -> None:
        """A crash: SIGKILL to the server and every worker process at once."""
        self.process.kill9()

    def restart(self, *extra: str) -> SandboxProcess:
        self.stop()
        self.client.close()
        self.client = httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT)
        return self.start(*extra)

    def close(self) -> None:
        """After the test: its client closed, the process group killed. The test is over and its
        database thrown away, so there is no drain to wait for (tests of stopping call `stop`)."""
        self.client.close()
        if self.proc is not None and self.proc.poll() is None:
            self.kill9()


@contextlib.contextmanager
def replicas(tmp: Path, db: str, count: int = 2, *, args: tuple[str, ...] = ()):
    """`count` sandbox processes on one database (several replicas of a hosted sandbox), started
    together (migrations and seeding take turns), stopped after."""
    servers = [SandboxProcess(tmp, db=db, args=args) for _ in range(count)]
    try:
        for server in servers:
            server.start(wait=False)
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.close()


# --- in process -----------------------------------------------------------------------------------

def serve_settings(*args: str, env: Mapping[str, str] | None = None):
    """The Settings `partner-sandbox serve ARGS` runs with (its own parser and its own conversion),
    with `env` as the only PARTNER_SANDBOX_* variables."""
    from partner_sandbox.settings import add_serve_arguments, settings_from_args

    parser = argparse.ArgumentParser(prog="partner-sandbox serve", exit_on_error=False)
    add_serve_arguments(parser, env=dict(env or {}))
    return settings_from_args(parser.parse_args(list(args)))


class AsgiThreadTransport(httpx.BaseTransport):
    """A synchronous httpx transport onto an ASGI app whose event loop runs in another thread: each
    request is handed to httpx's ASGITransport on that loop and waited for. `client` is the peer
    address the app sees (`scope["client"]`)."""

    def __init__(self, app, loop: asyncio.AbstractEventLoop, *, client: tuple[str, int] = ("127.0.0.1", 50000),
                 timeout: float = REQUEST_TIMEOUT):
        self._asgi = httpx.ASGITransport(app=app, client=client)
        self._loop = loop
        self._timeout = timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A head HTTP/1.1 cannot carry is refused as a connection would refuse it (h11 checks it).
        try:
            h11.Request(method=request.method, target=request.url.raw_path, headers=request.headers.raw)
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from None
        # The body is read here (it may be a generator of this thread) and sent as one part; its
        # framing headers (Content-Length, or Transfer-Encoding: chunked) go as they are.
        request.stream = httpx.ByteStream(b"".join(request.stream))

        async def exchange() -> tuple[int, httpx.Headers, bytes]:
            response = await self._asgi.handle_async_request(request)
            return response.status_code, response.headers, await response.aread()

        future = asyncio.run_coroutine_threadsafe(exchange(), self._loop)
        try:
            status, headers, content = future.result(self._timeout)
        except TimeoutError:
            future.cancel()
            raise httpx.ReadTimeout(f"the app did not answer in {self._timeout} s", request=request) from None
        try:  # an answer a real server could not send (h11 would refuse to write its head) fails here too
            h11.Response(status_code=status, headers=headers.raw, reason=b"")
        except h11.LocalProtocolError as exc:
            raise httpx.RemoteProtocolError(f"the app's answer is not valid HTTP/1.1: {exc}", request=request) from None
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))


class InProcessSandbox(_Sandbox):
    """The sandbox's whole ASGI app (`create_app`: guard, journal, fast lane, connexion) on an event
    loop in a thread of this process, its lifespan run as uvicorn runs it (the webhook deliverer
    starts with it), with `client`, a synchronous httpx client onto it.

    `args` and `env` are `serve`'s flags and PARTNER_SANDBOX_* variables, read by the CLI's own
    parser; the database is an SQLite file of its own in `tmp` unless `db` says otherwise. The app
    believes it listens on 127.0.0.1:`port` (its links are built on it); that port is held, bound
    but not listening, so that a stray real connection to it is refused at once."""

    def __init__(self, tmp: Path, *args: str, db: str | None = None, fixtures: Path = TEST_WORLD,
                 env: Mapping[str, str] | None = None, client_address: str = "127.0.0.1"):
        self.tmp = tmp
        self.db = db if db is not None else str(tmp / "sandbox.db")
        self.fixtures = fixtures
        self._port_holder = socket.socket()
        self._port_holder.bind(("127.0.0.1", 0))
        self.port = self._port_holder.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.settings = serve_settings("--port", str(self.port), "--db", self.db, "--fixtures", str(fixtures),
                                       "--workers", "1", *args, env=env)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"sandbox-app-{self.port}", daemon=True)
        self._thread.start()
        self._clients: list[httpx.Client] = []
        self._state: dict = {}
        self._lifespan: tuple | None = None
        try:
            self._call(self._startup())
        except BaseException:
            self._close_loop()
            raise
        self.client = self.client_from(client_address)

    def client_from(self, address: str, port: int = 50000) -> httpx.Client:
        """Another client of the app, from this peer address (a client IP of its own)."""
        client = httpx.Client(transport=AsgiThreadTransport(self._app_with_state, self._loop, client=(address, port)),
                              base_url=self.base_url, timeout=REQUEST_TIMEOUT)
        self._clients.append(client)
        return client

    def _call(self, coroutine, timeout: float = 60):
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    async def _app_with_state(self, scope, receive, send):
        if scope["type"] == "http":
            scope = {**scope, "state": dict(self._state)}  # as uvicorn: a copy of the lifespan's state
        await self.app(scope, receive, send)

    async def _startup(self) -> None:
        from partner_sandbox.web.app import create_app

        self.app = create_app(self.settings)  # on the loop's thread, as uvicorn builds it
        inbox: asyncio.Queue = asyncio.Queue()
        outbox: asyncio.Queue = asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self._state}
        task = asyncio.ensure_future(self.app(scope, inbox.get, outbox.put))
        self._lifespan = (task, inbox, outbox)
        await inbox.put({"type": "lifespan.startup"})
        message = await self._lifespan_answer()
        if message["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"the app did not start: {message}")

    async def _lifespan_answer(self) -> dict:
        task, _, outbox = self._lifespan
        answer = asyncio.ensure_future(outbox.get())
        await asyncio.wait([answer, task], return_when=asyncio.FIRST_COMPLETED)
        if answer.done():
            return answer.result()
        answer.cancel()
        task.result()  # the lifespan ended without answering: its exception, if any
        raise RuntimeError("the app's lifespan ended without answering")

    async def _shutdown(self) -> None:
        task, inbox, _ = self._lifespan
        await inbox.put({"type": "lifespan.shutdown"})
        message = await self._lifespan_answer()
        self._lifespan = None
        if message["type"] != "lifespan.shutdown.complete":
            raise RuntimeError(f"the app did not stop cleanly: {message}")
        await task

    def stop(self) -> None:
        """The app's shutdown (delivery stops, the store closes), then the loop's."""
        for client in self._clients:
            client.close()
        try:
            if self._lifespan is not None:
                self._call(self._shutdown())
        finally:
            self._close_loop()

    close = stop

    def _close_loop(self) -> None:
        if self._loop.is_closed():
            return

        async def cancel_the_rest():
            rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in rest:
                t.cancel()
            await asyncio.gather(*rest, return_exceptions=True)

        with contextlib.suppress(Exception):
            self._call(cancel_the_rest(), timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._port_holder.close()

"""Test helper: run `partner-sandbox serve` as a real process on a free port, and mint partner JWTs."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


class SandboxProcess:
    """One `partner-sandbox serve` process; restartable on the same database."""

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
        self.proc: subprocess.Popen | None = None
        self.client = httpx.Client(base_url=self.base_url, timeout=30)

    def command(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "partner_sandbox", "serve", "--port", str(self.port), "--db", self.db,
                "--fixtures", str(self.fixtures), *self.args, *extra]

    def start(self, *extra: str, wait: bool = True) -> "SandboxProcess":
        log = open(self.log_path, "ab")
        env = {**os.environ, **self.env}
        # Its own process group: the server and its worker processes stop (or crash) together.
        self.proc = subprocess.Popen(self.command(*extra), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.tmp,
                                     start_new_session=True)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sandbox exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"sandbox not ready in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def kill9(self) -> None:
        """A crash: SIGKILL to the server and every worker process at once."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def restart(self, *extra: str) -> "SandboxProcess":
        self.stop()
        self.client.close()
        self.client = httpx.Client(base_url=self.base_url, timeout=30)
        return self.start(*extra)

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


@contextlib.contextmanager
def replicas(tmp: Path, db: str, count: int = 2):
    """`count` sandbox processes on one database (several replicas of a hosted sandbox), stopped after."""
    servers = [SandboxProcess(tmp, db=db) for _ in range(count)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def control(server: SandboxProcess, method: str, path: str, *, partner: str = "sandbox-partner", **kwargs):
    """A call to the control API (/sandbox/v1) with a fresh token for `partner`."""
    headers = {**auth_headers(partner), **kwargs.pop("headers", {})}
    return server.client.request(method, "/sandbox/v1" + path, headers=headers, **kwargs)


class PostgresCluster:
    """A throwaway PostgreSQL cluster from Debian's binaries, on a free port, for one test session."""

    def __init__(self):
        import glob
        import pwd
        import tempfile

        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        assert versions, "PostgreSQL is needed (make test installs Debian's postgresql)"
        self.bin = Path(versions[-1])
        self.port = free_port()
        # Not under pytest's private tmp: PostgreSQL refuses to run as root, so as root it runs as
        # Debian's `postgres` user, which must reach its data directory.
        self.root = Path(tempfile.mkdtemp(prefix="sandbox-pg-"))
        self.root.chmod(0o755)
        self.data = self.root / "pgdata"
        self.data.mkdir()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            postgres = pwd.getpwnam("postgres")
            os.chown(self.data, postgres.pw_uid, postgres.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.data / "server.log"), "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off", "start")
        self._databases = 0

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True, capture_output=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        self._databases += 1
        name = f"sandbox_{self._databases}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        import shutil

        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

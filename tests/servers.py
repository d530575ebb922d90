"""The sandboxes the tests talk to: `SandboxProcess`, `partner-sandbox serve` as a real process on a
free port (the spawner of partner_sandbox/qa/server.py); replicas of it; a PostgreSQL cluster."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import httpx

from partner_sandbox.qa.server import ServerProcess, free_port, serve_command

from .helpers import QR_PATH, TEST_WORLD, auth_headers

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

    def start(self, *extra: str, wait: bool = True) -> "SandboxProcess":
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

    def restart(self, *extra: str) -> "SandboxProcess":
        self.stop()
        self.client.close()
        self.client = httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT)
        return self.start(*extra)

    def close(self) -> None:
        self.stop()
        self.client.close()


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


# --- PostgreSQL -----------------------------------------------------------------------------------

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

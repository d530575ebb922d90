"""A throwaway PostgreSQL cluster from Debian's binaries (initdb, pg_ctl) on a free port: the one the
tests run their PostgreSQL cases and replicas on (tests/conftest.py), and `make bench` its replicas.
Only the standard library (psycopg for `new_database`)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from .server import free_port


class PostgresCluster:
    """A throwaway PostgreSQL cluster from Debian's binaries, on a free port (fsync off), until `stop`."""

    def __init__(self):
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
        if not versions:
            raise RuntimeError("PostgreSQL is needed (make test installs Debian's postgresql)")
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
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

"""Run a server as a separate process and wait until it answers: the one spawner behind the pytest
plugin's `partner_sandbox` fixture and behind every test of this project that starts a server.

`ServerProcess` starts a command (`partner-sandbox serve ...`, or any other HTTP server) in a process
group of its own, with its output in a log, and polls a health URL until it answers; if the process
exits or does not answer in time, the error carries the log. It stops with SIGTERM to the whole
group (the server and its worker processes), then SIGKILL; `kill9` is a crash; `restart` starts the
same command again (on the same database, for a sandbox). Only the standard library and httpx."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO
from collections.abc import Callable, Mapping, Sequence

import httpx
import contextlib

POLL_SECONDS = 0.02


class ServerError(RuntimeError):
    """The server exited before it answered, or did not answer in time; the message holds its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on `host` now (the OS's pick)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def serve_command(port: int, *args: str, db: str | None = None, fixtures: str | Path | None = None,
                  executable: str | Sequence[str] | None = None) -> list[str]:
    """`partner-sandbox serve --port P [--db D] [--fixtures F] ARGS...`, run with this Python
    (`python -m partner_sandbox`) unless `executable` names the command (e.g. an installed
    `partner-sandbox` script)."""
    if executable is None:
        program = [sys.executable, "-m", "partner_sandbox"]
    elif isinstance(executable, (str, Path)):
        program = [str(executable)]
    else:
        program = [str(part) for part in executable]
    command = [*program, "serve", "--port", str(port)]
    if db is not None:
        command += ["--db", str(db)]
    if fixtures is not None:
        command += ["--fixtures", str(fixtures)]
    return command + [str(a) for a in args]


class ServerProcess:
    """One server process on `port` of 127.0.0.1.

    command: the argument list, or a callable giving it (called at each start, so that a caller may
        change what it builds between a stop and the next start).
    env: the whole environment of the process (default: this one's), `extra_env` laid over it.
    log: a file path the process's stdout and stderr are appended to; default: a temporary file.
    health: the path polled; the server is ready when it answers `ready_status` (None: any answer).
    """

    def __init__(self, command: Sequence[str] | Callable[[], Sequence[str]], *, port: int,
                 env: Mapping[str, str] | None = None, extra_env: Mapping[str, str] | None = None,
                 cwd: str | Path | None = None, log: str | Path | None = None, health: str = "/healthz",
                 ready_status: int | None = 200, name: str = "server"):
        self._command = command
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.env = {**(os.environ if env is None else env), **(extra_env or {})}
        self.cwd = cwd
        self.log_path = Path(log) if log is not None else None
        self._log_file: IO[bytes] | None = None if log is not None else tempfile.TemporaryFile()  # noqa: SIM115 (the server writes to it while it runs)
        self.health = health
        self.ready_status = ready_status
        self.name = name
        self.proc: subprocess.Popen | None = None

    @property
    def command(self) -> list[str]:
        return [str(part) for part in (self._command() if callable(self._command) else self._command)]

    @property
    def _started(self) -> subprocess.Popen[bytes]:
        if self.proc is None:
            raise ServerError(f"the {self.name} was not started")
        return self.proc

    @property
    def pid(self) -> int:
        return self._started.pid

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def start(self, *, wait: bool = True, timeout: float = 60) -> ServerProcess:
        if self.proc is not None and self.proc.poll() is None:
            raise ServerError(f"the {self.name} is running already (pid {self.proc.pid}); stop it or restart()")
        log: IO[bytes] | None
        if self.log_path is not None:
            log = open(self.log_path, "ab")  # noqa: SIM115 (handed to the child, closed after Popen)
        else:
            log = self._log_file
        # A process group of its own: the server and its worker processes stop (or crash) together.
        self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=self.cwd,
                                     start_new_session=True)
        if self.log_path is not None and log is not None:
            log.close()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        """Until the health path answers; ServerError, with the log, if the process exits first or
        nothing answers within `timeout` seconds (the process is then stopped)."""
        deadline = time.monotonic() + timeout
        url = self.base_url + self.health
        with httpx.Client(timeout=1, trust_env=False) as http:
            while True:
                if self._started.poll() is not None:
                    raise ServerError(f"the {self.name} exited with {self._started.returncode} before it answered"
                                      f" {self.health} ({' '.join(self.command)}):\n{self.output()}")
                try:
                    status = http.get(url).status_code
                    if self.ready_status is None or status == self.ready_status:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise ServerError(f"the {self.name} did not answer {self.health} within {timeout:g} s"
                                      f" ({' '.join(self.command)}):\n{self.output()}")
                time.sleep(POLL_SECONDS)

    def wait(self, timeout: float | None = None) -> int:
        """The exit status, once the process has exited by itself."""
        return self._started.wait(timeout=timeout)

    def output(self) -> str:
        """Everything the process wrote so far (stdout and stderr)."""
        if self.log_path is not None:
            return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        if self._log_file is None or self._log_file.closed:
            return ""
        self._log_file.flush()
        return os.pread(self._log_file.fileno(), os.fstat(self._log_file.fileno()).st_size, 0).decode(errors="replace")

    def signal(self, signum: int, *, group: bool = True) -> None:
        """Send a signal to the process group (the server and its workers), or to the server alone."""
        if group:
            os.killpg(self._started.pid, signum)
        else:
            os.kill(self._started.pid, signum)

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM to the process group (a graceful drain), then SIGKILL after `timeout` seconds."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
            except ProcessLookupError:
                self.proc.wait()
        return self.proc.returncode

    def kill9(self) -> None:
        """A crash: SIGKILL to the server and every worker process at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._started.pid, signal.SIGKILL)
        self._started.wait()

    def restart(self, *, wait: bool = True, timeout: float = 60) -> ServerProcess:
        self.stop()
        return self.start(wait=wait, timeout=timeout)

    def close(self) -> None:
        """Stop the process and drop its temporary log."""
        self.stop()
        if self._log_file is not None:
            self._log_file.close()

    def __enter__(self) -> ServerProcess:
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc) -> None:
        self.close()

"""qa/server.py, the spawner behind the plugin's fixture and every server process of the tests: an
error with the server's log when it exits or does not answer, a stop that is SIGTERM to the group,
kill -9, a restart. (The sandbox's own start, drain and crash are tested in tests/api.)"""

from __future__ import annotations

import signal
import sys
import time

import httpx
import pytest

from partner_sandbox.qa.server import ServerError, ServerProcess, free_port, serve_command

# A stand-in server: answers 200 on every GET (so /healthz too) once it has slept its first argument,
# says so on stdout, and says "drained" when SIGTERM stops it.
STAND_IN = """
import signal, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

def drained(*_):
    print("drained", flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, drained)
time.sleep(float(sys.argv[2]))
server = HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
print("listening", flush=True)
server.serve_forever()
"""


def stand_in(tmp_path, delay: float = 0.0) -> ServerProcess:
    port = free_port()
    return ServerProcess([sys.executable, "-c", STAND_IN, str(port), str(delay)], port=port,
                         log=tmp_path / "stand-in.log", name="stand-in")


def test_serve_command_is_the_cli_with_its_flags():
    assert serve_command(8080, "--workers", "1", db=":memory:", fixtures="w.yaml") == [
        sys.executable, "-m", "partner_sandbox", "serve", "--port", "8080", "--db", ":memory:", "--fixtures", "w.yaml",
        "--workers", "1"]
    assert serve_command(8080, executable="/venv/bin/partner-sandbox") == ["/venv/bin/partner-sandbox", "serve",
                                                                          "--port", "8080"]


def test_a_server_that_exits_is_an_error_with_its_status_and_log():
    port = free_port()
    server = ServerProcess(serve_command(port, "--rate-limit", "fast", db=":memory:"), port=port)
    with pytest.raises(ServerError, match="exited with 2") as failed:
        server.start()
    assert "'fast' is neither 'production' nor a number" in str(failed.value)  # the log, in the error
    assert isinstance(failed.value, RuntimeError)
    server.close()


def test_a_server_that_does_not_answer_in_time_is_stopped_with_an_error(tmp_path):
    server = stand_in(tmp_path, delay=30)
    started = time.monotonic()
    with pytest.raises(ServerError, match="did not answer /healthz within 0.5 s"):
        server.start(timeout=0.5)
    assert time.monotonic() - started < 10
    assert server.returncode is not None  # not left running


def test_stop_is_sigterm_then_a_restart_and_kill_9(tmp_path):
    server = stand_in(tmp_path, delay=0.2)
    server.start()
    assert httpx.get(server.base_url + "/healthz").status_code == 200
    assert server.stop() == 0 and "drained" in server.output()  # SIGTERM: its handler ran

    server.restart()  # the same command again, the log kept
    assert httpx.get(server.base_url + "/healthz").text == "ok"
    assert server.output().count("listening") == 2
    server.kill9()
    assert server.returncode == -signal.SIGKILL
    assert server.output().count("drained") == 1
    server.close()


def test_a_server_deaf_to_sigterm_is_killed_after_the_timeout(tmp_path):
    port = free_port()
    deaf = ("import signal, socket, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
            f"s = socket.create_server(('127.0.0.1', {port})); print('up', flush=True); time.sleep(60)")
    server = ServerProcess([sys.executable, "-c", deaf], port=port, ready_status=None, health="/")
    server.start(wait=False)
    deadline = time.monotonic() + 10
    while "up" not in server.output() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.stop(timeout=0.5) == -signal.SIGKILL
    server.close()

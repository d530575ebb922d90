"""Faults a careless or hostile partner, or the machine, brings: slow and idle clients, a database
file deleted under the server, a journal shared by partners, and SIGTERM's exit status."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from partner_sandbox.store import JOURNAL_LIMIT, JOURNAL_TRIM_EVERY, SqliteStore
from tests.helpers import ENVELOPE_KEYS, auth_headers


def read_answer(sock: socket.socket, timeout: float) -> tuple[int, dict]:
    """The status and JSON body of the one answer on `sock`, read until the server closes it."""
    sock.settimeout(timeout)
    raw = b""
    while chunk := sock.recv(65536):
        raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.fixture(scope="module")
def slow_clients_server(start_module_sandbox):
    """A server process for the slow-client tests (each leaves it as it found it): one worker, a
    header timeout of 1 s."""
    return start_module_sandbox("--workers", "1", "--header-timeout", "1")


def test_half_sent_requests_and_idle_sockets_are_answered_408_and_closed(slow_clients_server):
    server = slow_clients_server
    sockets = []
    for i in range(300):
        sock = socket.create_connection(("127.0.0.1", server.port))
        if i % 2:  # half of them send part of a head; the others nothing at all
            sock.sendall(b"POST /partner/api/v1/workspaces HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        sockets.append(sock)
    started = time.monotonic()
    answers = [read_answer(sock, timeout=10) for sock in sockets]
    assert time.monotonic() - started < 5
    assert {status for status, _ in answers} == {408}
    assert all(set(body) == ENVELOPE_KEYS and body["error"] == "request_timeout" for _, body in answers)
    for sock in sockets:
        sock.close()
    assert server.client.get("/healthz").status_code == 200


def test_a_body_that_stops_halfway_is_answered_408_and_closed(slow_clients_server):
    server = slow_clients_server
    head = ("POST /partner/api/v1/workspaces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Authorization: {auth_headers()['Authorization']}\r\nX-TL-Partner-Id: sandbox-partner\r\n"
            "Content-Length: 100\r\n\r\n").encode()
    sockets = []
    for _ in range(50):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(head + b'{"display_name": ')  # then nothing more
        sockets.append(sock)
    trickler = socket.create_connection(("127.0.0.1", server.port))
    trickler.sendall(head)
    for _ in range(3):  # each part in time restarts the wait: still open after 3 x 0.6 s
        time.sleep(0.6)
        trickler.sendall(b" ")
    started = time.monotonic()
    answers = [read_answer(sock, timeout=10) for sock in sockets]
    assert time.monotonic() - started < 5
    assert all(status == 408 and "body did not arrive" in body["description"] for status, body in answers), answers[:2]
    status, body = read_answer(trickler, timeout=10)  # then it stops: answered the same way
    assert status == 408 and body["error"] == "request_timeout"
    for sock in [*sockets, trickler]:
        sock.close()
    assert server.client.get("/healthz").status_code == 200


def test_connections_past_the_bound_are_answered_503_at_once(start_sandbox):
    server = start_sandbox("--workers", "1", "--max-connections", "20", "--header-timeout", "30")
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
    time.sleep(0.3)
    extra = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]
    for sock in extra:
        status, body = read_answer(sock, timeout=5)
        assert status == 503 and body["error"] == "service_unavailable" and "at most 20" in body["description"]
        sock.close()
    for sock in held:
        sock.close()
    time.sleep(0.3)
    r = server.client.post("/partner/api/v1/workspaces/qa-workspace/users/33/qr", headers=auth_headers())
    assert r.status_code == 200, r.text  # room again once the held ones are gone


def test_a_database_file_deleted_under_the_server_is_noticed(start_app):
    server = start_app("--workers", "1")
    assert server.client.get("/healthz").status_code == 200
    for suffix in ("", "-wal", "-shm"):
        Path(server.db + suffix).unlink(missing_ok=True)
    health = server.client.get("/healthz")
    assert health.status_code == 503 and health.json()["error"] == "service_unavailable", health.text
    assert "deleted or replaced" in health.json()["description"]
    write = server.client.post("/partner/api/v1/workspaces/qa-workspace/users/34/qr", headers=auth_headers())
    assert write.status_code == 503, write.text  # no 2xx for a write that would be lost


@pytest.mark.parametrize("workers, whom", [("1", "server"), ("2", "server"), ("2", "group")])
def test_sigterm_drains_and_exits_0(start_sandbox, workers, whom):
    server = start_sandbox("--workers", workers)
    assert server.client.get("/healthz").status_code == 200
    if whom == "group":
        os.killpg(server.proc.pid, signal.SIGTERM)
    else:
        os.kill(server.proc.pid, signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0, server.output()[-2000:]


def test_journal_retention_is_per_partner(tmp_path):
    store = SqliteStore(tmp_path / "journal.db")
    for i in range(1000):  # two partners, alternating: each one's own trim keeps it bounded
        with store.transaction() as tx:
            tx.add_journal_entry("sandbox-partner" if i % 2 else "other-partner", {"n": i})
    with store.transaction() as tx:
        for partner in ("sandbox-partner", "other-partner"):
            kept = tx.journal(partner, 10_000)
            assert JOURNAL_LIMIT <= len(kept) <= JOURNAL_LIMIT + JOURNAL_TRIM_EVERY, (partner, len(kept))
            assert kept[0]["n"] >= 998  # the newest are the ones kept
    store.close()


"""No webhook receiver can jam delivery: one partner's receiver that trickles, hangs, answers
300 MB or a gzip bomb delays no other partner's event, keeps the server's memory flat, and has each
event attempted once at a time; a URL that cannot be delivered to is refused when it is set, and an
event that cannot be attempted is failed with its reason without holding back the next one."""

from __future__ import annotations

import contextlib
import functools
import socket
import sqlite3
import threading
import time
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers import assert_error, control

DEADLINE = 2.0  # --webhook-timeout: the total deadline of one attempt
MEMORY_BOUND_MB = 60  # the server's resident memory may grow by at most this while receivers misbehave


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@functools.cache
def gzip_bomb() -> bytes:
    """1 GiB of zeros in one gzip member (about 1 MB), made once: a few seconds of compression that
    would otherwise run again in every connection, after the sandbox's deadline for the answer."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip format
    block = b"\0" * (1024 * 1024)
    return b"".join(deflate.compress(block) for _ in range(1024)) + deflate.flush()


class RawReceiver:
    """A webhook receiver on loopback that answers as `mode` says: `ok` (204 at once), `trickle` (a
    byte every 0.3 s of a long answer), `hang` (never answers), `huge` (a 300 MB answer, as fast as
    it is read) or `bomb` (a small gzip body that inflates to 1 GiB). It records every attempt's
    event id and when it arrived."""

    def __init__(self, mode: str):
        self.mode = mode
        if mode == "bomb":
            gzip_bomb()  # ready before the first attempt arrives, so that the bomb is what it gets
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hooks"
        self.arrivals: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        with conn:
            conn.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.decode().partition(":") for line in head.split(b"\r\n")[1:])}
            while len(body) < int(headers.get("content-length", 0)):
                body += conn.recv(65536)
            event = headers.get("x-tl-event-id", "")
            with self.lock:
                self.arrivals.append((time.monotonic(), event))
            with contextlib.suppress(OSError):  # the sandbox gave up on the answer and closed the connection
                self._answer(conn)

    def _answer(self, conn: socket.socket):
        if self.mode == "ok":
            conn.sendall(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        elif self.mode == "trickle":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while not self.stopping.wait(0.3):
                conn.sendall(b"x")
        elif self.mode == "hang":
            while not self.stopping.wait(0.2):
                if conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                    return
        elif self.mode == "huge":
            size = 300 * 1024 * 1024
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
            block = b"\0" * (1024 * 1024)
            for _ in range(300):
                conn.sendall(block)
        elif self.mode == "bomb":
            bomb = gzip_bomb()
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb) + bomb)

    def wait_for(self, count: int, timeout: float = 15) -> list[tuple[float, str]]:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.arrivals

    def stop(self):
        self.stopping.set()
        self.listener.close()


@pytest.fixture
def receivers():
    made: list[RawReceiver] = []

    def make(mode: str) -> RawReceiver:
        made.append(RawReceiver(mode))
        return made[-1]

    yield make
    for r in made:
        r.stop()


def connect(server, workspace: str, user: int, partner: str) -> None:
    """A QR link and its scan: one whatsapp_account:connected event for the partner."""
    assert server.issue(workspace, user, partner=partner).status_code == 200
    assert control(server, "POST", f"/workspaces/{workspace}/users/{user}/scan", partner=partner).status_code == 200


def settled(server, partner: str) -> bool:
    """Every webhook event of the partner has reached its end: delivered, or failed for good."""
    found = control(server, "GET", "/webhook/deliveries", partner=partner).json()["deliveries"]
    return bool(found) and all(d["status"] in ("delivered", "failed") for d in found)


@pytest.mark.parametrize("mode", ["trickle", "hang", "huge", "bomb"])
def test_a_receiver_that_misbehaves_delays_no_one_else_and_costs_no_memory(start_sandbox, receivers, mode):
    server = start_sandbox("--workers", "1", "--webhook-timeout", str(DEADLINE), "--webhook-backoff", "0.1",
                           "--webhook-attempts", "3")
    bad, good = receivers(mode), receivers("ok")
    assert control(server, "PUT", "/webhook", json={"url": bad.url}).status_code == 200
    assert control(server, "PUT", "/webhook", json={"url": good.url}, partner="other-partner").status_code == 200
    baseline = rss_mb(server.proc.pid)
    # Events of several workspaces and users of the misbehaving partner, in flight at once.
    for user in (61, 62):
        connect(server, "qa-workspace", user, "sandbox-partner")
    connect(server, "my-first-workspace", 43, "sandbox-partner")
    bad.wait_for(2)
    peak = baseline
    for _ in range(3):  # another partner's events, while the bad receiver holds its attempts open
        sent = time.monotonic()
        connect(server, "other-workspace", 7007, "other-partner")
        arrivals = good.wait_for(len(good.arrivals) + 1, timeout=5)
        assert arrivals and arrivals[-1][0] - sent < 1.0, f"another partner's event took {arrivals[-1][0] - sent:.2f} s"
        peak = max(peak, rss_mb(server.proc.pid))
        time.sleep(0.3)
    # Memory is watched while the misbehaving receiver's attempts go on, up to 3 deadlines and 2 s
    # more, or until none is left (each of its events delivered or failed: the server is done with it).
    deadline = time.monotonic() + 3 * DEADLINE + 2
    while time.monotonic() < deadline:
        peak = max(peak, rss_mb(server.proc.pid))
        if settled(server, "sandbox-partner"):
            break
        time.sleep(0.1)
    assert peak - baseline < MEMORY_BOUND_MB, f"resident memory grew {peak - baseline:.0f} MB ({mode})"
    found = control(server, "GET", "/webhook/deliveries").json()["deliveries"]
    attempts = [a for d in found for a in d["attempts"]]
    assert attempts
    for delivery in found:  # no event attempted twice at the same time: each attempt ends before the next
        spans = [(datetime.fromisoformat(a["at"].replace("Z", "+00:00")).timestamp(), a["latency_ms"] / 1000)
                 for a in delivery["attempts"]]
        assert all(start + took <= later + 0.01 for (start, took), (later, _) in zip(spans, spans[1:], strict=False)), spans
    if mode in ("trickle", "hang"):
        # each attempt ended at its total deadline, never later, and the receiver saw them that far apart
        assert all(a["error"].startswith("timeout") and a["latency_ms"] < (DEADLINE + 1) * 1000 for a in attempts), attempts
        by_event: dict[str, list[float]] = {}
        for at, event in bad.arrivals:
            by_event.setdefault(event, []).append(at)
        gaps = [b - a for times in by_event.values() for a, b in zip(times, times[1:], strict=False)]
        assert gaps and min(gaps) >= DEADLINE - 0.2, gaps


@pytest.mark.parametrize("url", ["http://[::1/x", "http://127.0.0.1:99999/x", "http:///nohost", "http://HX@?Ca",
                                 "http://exa mple.com/", "ftp://example.com/", "http://999.1.1.1/"])
def test_a_url_that_cannot_be_delivered_to_is_refused_when_set(sandbox, url):
    """The spec's pattern is the rule's (webhooks.URL_PATTERN): refused naming the field."""
    r = control(sandbox, "PUT", "/webhook", json={"url": url}, partner="other-partner")
    body = assert_error(r, 400, "invalid_request")
    assert body["description"].startswith("url: ") and "does not match" in body["description"], body


def test_an_event_that_cannot_be_attempted_is_failed_and_holds_back_nothing(start_sandbox, receivers):
    server = start_sandbox("--workers", "1", "--webhook-backoff", "0.1")
    good = receivers("ok")
    assert control(server, "PUT", "/webhook", json={"url": good.url}).status_code == 200
    # A URL stored before the rule that now refuses it (written into the database directly).
    with sqlite3.connect(server.db) as db:
        db.execute("UPDATE webhooks SET url = 'http://[::1/x' WHERE partner_id = 'sandbox-partner'")
    connect(server, "qa-workspace", 71, "sandbox-partner")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = control(server, "GET", "/webhook/deliveries").json()["deliveries"]
        if found and found[0]["status"] == "failed":
            break
        time.sleep(0.1)
    failed = found[0]
    assert failed["status"] == "failed" and len(failed["attempts"]) == 1, failed
    assert failed["attempts"][0]["error"].startswith("the URL is not http(s)://")
    # The workspace's next event goes out.
    assert control(server, "PUT", "/webhook", json={"url": good.url}).status_code == 200
    connect(server, "qa-workspace", 72, "sandbox-partner")
    assert good.wait_for(1, timeout=5), "the next event was held back"
    assert "Traceback" not in server.output()


def test_a_partner_with_many_hanging_workspaces_leaves_room_for_the_others(start_app, receivers):
    """More slow workspaces than a process has delivery slots: the partner gets its share only, and
    another partner's event still goes out at once."""
    server = start_app("--workers", "1", "--webhook-timeout", "4", "--webhook-attempts", "1")
    bad, good = receivers("hang"), receivers("ok")
    assert control(server, "PUT", "/webhook", json={"url": bad.url}).status_code == 200
    assert control(server, "PUT", "/webhook", json={"url": good.url}, partner="other-partner").status_code == 200
    from tests.helpers import auth_headers

    for i in range(80):  # each new workspace of one seat is full at once: a workspace:seats_full event each
        r = server.client.post("/partner/api/v1/workspaces", headers=auth_headers(),
                               json={"display_name": f"slow-{i}", "seats_purchased": 1})
        assert r.status_code == 201, r.text
    bad.wait_for(16, timeout=5)
    time.sleep(0.5)
    assert len(bad.arrivals) == 16, len(bad.arrivals)  # its share of the 64 slots, no more
    sent = time.monotonic()
    connect(server, "other-workspace", 7008, "other-partner")
    arrivals = good.wait_for(1, timeout=3)
    assert arrivals and arrivals[0][0] - sent < 1.0

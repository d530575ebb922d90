"""The HTTP/1.1 the server speaks, byte for byte over a socket: an upgrade it does not perform is
ignored with the body intact, chunked bodies are read like any other, and the errors the server
answers before any app runs are the error envelope."""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest

from tests.helpers import ENVELOPE_KEYS, make_token

H2C = (b"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
       b"HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n")


# Once the answers a test waits for are in, this much more silence ends the read: time enough for a
# server to send anything it has left (an extra answer would be written at once), without waiting for
# the full pause of a kept-alive connection.
GRACE_SECONDS = 0.3


def parse(raw: bytes) -> tuple[list[tuple[int, dict, bytes]], bytes]:
    """The whole responses at the start of `raw` (status, headers, body), and what follows them."""
    responses = []
    while b"\r\n\r\n" in raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower().decode(): v.strip().decode()
                   for k, _, v in (line.partition(b":") for line in lines[1:])}
        length = int(headers["content-length"])
        if len(rest) < length:
            break
        responses.append((status, headers, rest[:length]))
        raw = rest[length:]
    return responses, raw


def exchange(server, data: bytes, *, expect: int = 1, timeout: float = 3) -> list[tuple[int, dict, bytes]]:
    """Send raw bytes on one connection; every response read back until the server closes, or pauses:
    `timeout` seconds of silence, or GRACE_SECONDS once `expect` whole responses are in."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(data)
        raw = b""
        try:
            while True:
                sock.settimeout(GRACE_SECONDS if len(parse(raw)[0]) >= expect else timeout)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                raw += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    responses, rest = parse(raw)
    assert rest == b"", f"a partial response: {rest[:300]!r}"
    return responses


def create_workspace(name: str, *, upgrade: bytes = b"", chunked: bool = False) -> bytes:
    body = json.dumps({"display_name": name, "seats_purchased": 3}).encode()
    framing = (b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if chunked
               else b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    return (b"POST /partner/api/v1/workspaces HTTP/1.1\r\nHost: sandbox\r\n" + upgrade
            + b"Authorization: Bearer " + make_token().encode() + b"\r\nX-TL-Partner-Id: sandbox-partner\r\n"
            + b"Content-Type: application/json\r\n" + framing)


def assert_envelope(response, status: int, code: str) -> dict:
    got, headers, body = response
    assert got == status, body
    assert headers["content-type"] == "application/json"
    document = json.loads(body)
    assert set(document) == ENVELOPE_KEYS and (document["error"], document["status"]) == (code, status), document
    return document


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_h2c_upgrade_is_ignored_and_the_body_kept_on_a_kept_alive_connection(sandbox_process, chunked):
    """What Java's HttpClient sends on http://: served as HTTP/1.1, twice on one connection."""
    names = [f"h2c-{uuid.uuid4().hex[:12]}" for _ in range(2)]
    answers = exchange(sandbox_process, b"".join(create_workspace(n, upgrade=H2C, chunked=chunked) for n in names),
                       expect=2)
    assert [status for status, _, _ in answers] == [201, 201], answers
    assert [json.loads(body)["workspace_id"] for _, _, body in answers] == names
    assert all("upgrade" not in headers for _, headers, _ in answers)


def test_a_chunked_body_is_read_like_any_other(sandbox_process):
    name = f"chunked-{uuid.uuid4().hex[:12]}"
    [(status, _, body)] = exchange(sandbox_process, create_workspace(name, chunked=True))
    assert status == 201, body
    assert json.loads(body)["display_name"] == name


def test_a_chunked_body_over_the_limit_is_413_on_any_operation(sandbox_process):
    big = b"x" * (64 * 1024 + 1)
    request = (b"POST /partner/api/v1/workspaces HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer "
               + make_token().encode() + b"\r\nX-TL-Partner-Id: sandbox-partner\r\nContent-Type: application/json\r\n"
               + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(big), big))
    [answer] = exchange(sandbox_process, request)
    assert_envelope(answer, 413, "payload_too_large")


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: sandbox\r\nBad Header Name: x\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: sandbox\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\n\r\n",  # HTTP/1.1 without Host
], ids=["request-line", "header-name", "two-lengths", "no-host"])
def test_a_request_that_is_not_http_gets_the_envelope(sandbox_process, request_bytes):
    [answer] = exchange(sandbox_process, request_bytes)
    document = assert_envelope(answer, 400, "invalid_request")
    assert document["description"].startswith("The request is not valid HTTP/1.1: ")
    assert answer[1]["connection"] == "close"
    assert answer[1]["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("size, limit", [(40 * 1024, "32 KiB"), (200 * 1024, "64 KiB")],
                         ids=["over-the-guard", "over-the-parser"])
def test_a_head_over_the_limit_gets_the_431_envelope(sandbox_process, size, limit):
    request = b"GET /healthz HTTP/1.1\r\nHost: sandbox\r\nX-Filler: " + b"a" * size + b"\r\n\r\n"
    [answer] = exchange(sandbox_process, request)
    assert limit in assert_envelope(answer, 431, "headers_too_large")["description"]


def test_a_content_length_beside_chunking_is_void(sandbox_process):
    """RFC 9112: with Transfer-Encoding, a Content-Length means nothing; the chunks are the body."""
    name = f"both-{uuid.uuid4().hex[:12]}"
    request = create_workspace(name, chunked=True).replace(b"Transfer-Encoding: chunked\r\n",
                                                            b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n")
    [(status, _, body)] = exchange(sandbox_process, request)
    assert status == 201 and json.loads(body)["workspace_id"] == name, body


def test_an_h2c_upgrade_without_a_body_is_ignored_and_the_next_request_served(sandbox_process):
    request = b"GET /healthz HTTP/1.1\r\nHost: sandbox\r\n" + H2C + b"\r\n"
    answers = exchange(sandbox_process, request * 2, expect=2)
    assert [status for status, _, _ in answers] == [200, 200], answers


def test_an_h2c_upgrade_whose_body_comes_in_pieces_keeps_it_whole(sandbox_process):
    name = f"h2c-pieces-{uuid.uuid4().hex[:12]}"
    request = create_workspace(name, upgrade=H2C)
    head_end = request.index(b"\r\n\r\n") + 4
    with socket.create_connection(("127.0.0.1", sandbox_process.port)) as sock:
        for piece in (request[:head_end - 10], request[head_end - 10:head_end + 5], request[head_end + 5:]):
            sock.sendall(piece)
            time.sleep(0.05)
        sock.settimeout(3)
        raw = b""
        while not parse(raw)[0]:
            raw += sock.recv(65536)
    [(status, _, body)] = parse(raw)[0]
    assert status == 201 and json.loads(body)["workspace_id"] == name, body


def test_an_http_version_other_than_1_x_gets_the_envelope(sandbox_process):
    [answer] = exchange(sandbox_process, b"GET /healthz HTTP/2.0\r\nHost: sandbox\r\n\r\n")
    assert "HTTP/2.0" in assert_envelope(answer, 400, "invalid_request")["description"]


def test_a_head_that_trickles_in_past_the_limit_gets_the_431_envelope(sandbox_process):
    """A header line that never ends: refused once the head passes the limit, not kept growing."""
    with socket.create_connection(("127.0.0.1", sandbox_process.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: sandbox\r\nX-Filler: ")
        raw = b""
        try:
            for _ in range(40):
                sock.sendall(b"a" * 8192)
                time.sleep(0.005)
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(3)
        try:
            while chunk := sock.recv(65536):
                raw += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    [answer] = parse(raw)[0]
    assert "KiB" in assert_envelope(answer, 431, "headers_too_large")["description"]


def test_a_bad_request_after_an_h2c_one_is_refused_after_its_answer(sandbox_process):
    name = f"h2c-then-bad-{uuid.uuid4().hex[:12]}"
    answers = exchange(sandbox_process, create_workspace(name, upgrade=H2C) + b"GET /healthz HTTP/2.0\r\nHost: s\r\n\r\n",
                       expect=2)
    assert answers[0][0] == 201 and json.loads(answers[0][2])["workspace_id"] == name, answers
    assert "HTTP/2.0" in assert_envelope(answers[1], 400, "invalid_request")["description"]


@pytest.mark.parametrize("request_bytes", [
    b"POST /healthz HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: gzip\r\n\r\nabc",
    b"POST /healthz HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"GET http://a:99999/p HTTP/1.1\r\nHost: s\r\n\r\n",
], ids=["gzip", "gzip-then-chunked", "bad-absolute-url"])
def test_a_request_framed_or_aimed_as_no_server_reads_gets_the_envelope(sandbox_process, request_bytes):
    [answer] = exchange(sandbox_process, request_bytes + b"GET /healthz HTTP/1.1\r\nHost: s\r\n\r\n")
    assert_envelope(answer, 400, "invalid_request")


def test_a_large_body_then_the_start_of_the_next_head_is_not_a_head_over_the_limit(sandbox_process):
    body = b"x" * (140 * 1024)
    request = (b"POST /partner/api/v1/workspaces HTTP/1.1\r\nHost: s\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n%s" % (len(body), body)) + b"GET /healthz HTTP/1.1\r\n"
    [answer] = exchange(sandbox_process, request)
    assert_envelope(answer, 413, "payload_too_large")


def test_a_connection_answered_before_its_body_ended_is_not_held_open_for_ever(sandbox_process):
    """The app answers 404 before reading the body; the rest of the body then arrives: the connection
    idles as after any answer, and the server's keep-alive timeout closes it."""
    with socket.create_connection(("127.0.0.1", sandbox_process.port)) as sock:
        sock.sendall(b"POST /no/such/path HTTP/1.1\r\nHost: s\r\nContent-Length: 10\r\n\r\n12345")
        sock.settimeout(3)
        raw = b""
        while not parse(raw)[0]:
            raw += sock.recv(65536)
        assert parse(raw)[0][0][0] == 404
        sock.sendall(b"67890")
        sock.settimeout(15)
        started = time.monotonic()
        while sock.recv(65536):
            pass
        assert time.monotonic() - started < 14  # closed by the server, not by this read's timeout

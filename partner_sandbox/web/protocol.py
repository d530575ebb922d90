"""The HTTP/1.1 protocol the server runs: uvicorn's h11 protocol, with two differences.

- An upgrade the server does not perform (`Upgrade: h2c`, which Java's HttpClient sends on every
  plain-http request) is ignored as RFC 9110 §7.8 allows: the request is served as HTTP/1.1 with
  its body intact. h11 reads the body of a request that proposes an upgrade and drops the proposal
  when the answer is not a 101; uvicorn's httptools protocol loses the body instead (uvicorn #2722),
  which is why the server does not use it.
- The errors the server itself answers before any app runs (a request that is not HTTP/1.1, a
  request head over the limit) are the API's error envelope, not plain text.
- What one turn of the event loop writes to a connection goes out in one write: a response's head
  and its body are one system call, not two (system calls are dear on sandboxed machines).
- Slow and idle clients are bounded: a request head must arrive whole within `--header-timeout`,
  and each part of a body within as long again after the one before (else 408, closed), and a
  process serves at most `--max-connections` connections (past that, each new one is answered 503
  and closed at once).
"""

from __future__ import annotations

import asyncio
import functools
from typing import cast

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..errors import ApiError
from ..settings import process_settings
from .errors import http_bytes
from .guard import API_CSP, MAX_HEADERS, SECURITY_HEADERS

# h11 buffers at most this much of a request head: past the guard's own header limit, so that the
# guard (which answers 431 with the request's id) is what a client meets first.
MAX_REQUEST_HEAD = 2 * MAX_HEADERS


class _Connection(h11.Connection):
    """h11's server connection, remembering why it last refused the client's bytes."""

    refusal: h11.RemoteProtocolError | None = None

    def next_event(self):
        try:
            return super().next_event()
        except h11.RemoteProtocolError as exc:
            self.refusal = exc
            raise


def protocol_error(refusal: h11.RemoteProtocolError | None) -> ApiError:
    """What a request h11 refused is told: 431 for a head over the limit, 400 naming the fault."""
    if refusal is not None and refusal.error_status_hint == 431:
        return ApiError("headers_too_large", f"The request head exceeds {MAX_REQUEST_HEAD // 1024} KiB")
    # h11's reason without the bytes it quotes (they may hold a link token, and are no help)
    reason = str(refusal).split(":")[0] if refusal is not None else "malformed request"
    return ApiError("invalid_request", f"The request is not valid HTTP/1.1: {reason}")


@functools.cache
def _limits() -> tuple[float, int]:
    """This process's header timeout and connection bound, read once."""
    settings = process_settings()
    return settings.header_timeout, settings.max_connections


class _CorkedTransport:
    """A connection's transport whose writes of one turn of the event loop are joined into one: the
    first write of a turn schedules the flush for the end of it. Closing flushes first; everything
    else is the transport's own."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def writelines(self, chunks) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        if self._pending:
            data, self._pending = b"".join(self._pending), []
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


class SandboxH11Protocol(H11Protocol):
    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.conn = _Connection(h11.SERVER, MAX_REQUEST_HEAD)
        self.header_timeout, self.max_connections = _limits()
        self.limit_concurrency = None  # uvicorn's own bound answers in plain text; ours is in connection_made
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(cast(asyncio.Transport, _CorkedTransport(transport, self.loop)))  # as one
        if len(self.connections) > self.max_connections:
            self._refuse(ApiError("service_unavailable", f"The sandbox holds at most {self.max_connections}"
                                  " connections a process; retry shortly", headers={"Retry-After": "1"}))
            return
        self._await_head()

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._await_head()  # a request begins (or a kept-alive connection's next one)
        super().data_received(data)
        if self.conn.their_state is h11.SEND_BODY:
            self._head_arrived()
            self._await_head()  # the body is awaited as long again after each part of it
        elif self.conn.their_state is not h11.IDLE:
            self._head_arrived()

    def connection_lost(self, exc) -> None:
        self._head_arrived()
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if self._head_timer is None and self.header_timeout > 0:
            self._head_timer = self.loop.call_later(self.header_timeout, self._head_timed_out)

    def _head_arrived(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        waiting = self.conn.their_state
        if waiting not in (h11.IDLE, h11.SEND_BODY) or self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # an answer is on its way already: only the connection goes
            return
        part = "head" if waiting is h11.IDLE else "body"
        self._refuse(ApiError("request_timeout", f"The request {part} did not arrive: nothing came for"
                              f" {self.header_timeout:g} s"))

    def _refuse(self, error: ApiError) -> None:
        # the guard's security headers too: no app runs on this connection
        self.transport.write(http_bytes(error, (*SECURITY_HEADERS, API_CSP)))
        self.transport.close()

    def _should_upgrade(self) -> bool:
        return False  # no upgrade is performed, so none is logged as unsupported either

    def send_400_response(self, msg: str) -> None:
        self._refuse(protocol_error(getattr(self.conn, "refusal", None)))

"""The HTTP/1.1 protocol the server runs: uvicorn's httptools protocol (llhttp, Node's parser), with
these differences.

- An upgrade the server does not perform (`Upgrade: h2c`, which Java's HttpClient sends on every
  plain-http request) is ignored as RFC 9110 §7.8 allows: the request is served as HTTP/1.1 with
  its body intact. llhttp stops at the end of such a request's head and hands the rest over as
  another protocol's bytes, which uvicorn drops with the body (uvicorn #2722); here the body is read
  on from there, framed as the head said, and the connection goes on with the next request.
- What h11 (uvicorn's other protocol) refuses and llhttp lets through is refused too: an HTTP
  version other than 1.0 and 1.1, an HTTP/1.1 request without `Host`, a request head over
  `MAX_REQUEST_HEAD`. A `Content-Length` beside `Transfer-Encoding: chunked` means nothing (RFC
  9112 §6.3), as h11 reads it, where llhttp would refuse the request.
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

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from ..errors import ApiError
from ..settings import process_settings
from .errors import http_bytes
from .guard import API_CSP, MAX_HEADERS, SECURITY_HEADERS

# The protocol reads at most this much of a request head: past the guard's own header limit, so that
# the guard (which answers 431 with the request's id) is what a client meets first.
MAX_REQUEST_HEAD = 2 * MAX_HEADERS


class _Refused(Exception):
    """A request the protocol refuses from inside the parser's callbacks: its answer."""

    def __init__(self, error: ApiError):
        super().__init__(error.description)
        self.error = error


def _head_too_large() -> ApiError:
    return ApiError("headers_too_large", f"The request head exceeds {MAX_REQUEST_HEAD // 1024} KiB")


def _not_http(reason: str) -> ApiError:
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


class SandboxHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # a Content-Length beside chunking means nothing (RFC 9112 §6.3), as h11 reads it
        self.parser.set_dangerous_leniencies(lenient_data_after_close=True, lenient_chunked_length=True)
        self.header_timeout, self.max_connections = _limits()
        self.limit_concurrency = None  # uvicorn's own bound answers in plain text; ours is in connection_made
        self._head_timer: asyncio.TimerHandle | None = None
        self._phase = "idle"  # idle (no request begun), head, body (the head is in), done (the request is in)
        self._head_size = 0  # of the request line and the header lines the parser has read
        self._unread = 0  # bytes received since the last request ended (while its next head is not whole)
        self._replaying = False  # the head a body after an ignored upgrade is read with

    def connection_made(self, transport) -> None:
        super().connection_made(cast(asyncio.Transport, _CorkedTransport(transport, self.loop)))  # as one
        if len(self.connections) > self.max_connections:
            self._refuse(ApiError("service_unavailable", f"The sandbox holds at most {self.max_connections}"
                                  " connections a process; retry shortly", headers={"Retry-After": "1"}))
            return
        self._await_head()

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._phase == "idle":
            self._await_head()  # a request begins (or a kept-alive connection's next one)
            self._unread = 0
        if self._phase in ("idle", "head"):
            self._unread += len(data)  # what the parser keeps of a head not yet whole, bounded
        try:
            self._feed(data)
        except _Refused as refused:
            self._refuse(refused.error)
            return
        except httptools.HttpParserCallbackError as exc:
            if isinstance(exc.__context__, _Refused):
                self._refuse(exc.__context__.error)
                return
            raise
        except httptools.HttpParserError as exc:
            self._refuse(_not_http(str(exc).split(":")[0].rstrip(".") or "malformed request"))
            return
        if self._phase in ("idle", "head") and self._unread > 2 * MAX_REQUEST_HEAD:
            self._refuse(_head_too_large())
        elif self._phase == "body":
            self._head_arrived()
            self._await_head()  # the body is awaited as long again after each part of it
        elif self._phase == "done":
            self._head_arrived()

    def _feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            # An upgrade this server does not perform: llhttp took the head as the end of HTTP/1.1 on
            # this connection. The body (if any) is read on by a new parser, primed with a head of the
            # same framing, and the connection's next requests after it.
            self.parser = httptools.HttpRequestParser(self)
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True, lenient_chunked_length=True)
            framing = [(name, value) for name, value in self.headers if name in (b"content-length", b"transfer-encoding")]
            if framing:
                self._replaying = True
                self.parser.feed_data(b"POST / HTTP/1.1\r\nHost: h\r\n"
                                      + b"".join(name + b": " + value + b"\r\n" for name, value in framing) + b"\r\n")
                self._replaying = False
            else:
                self._message_complete()
            self._feed(data[upgrade.args[0]:])

    # the parser's callbacks

    def on_message_begin(self) -> None:
        if self._replaying:
            return
        self._phase, self._head_size = "head", 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        if self._replaying:
            return
        self._grow(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._replaying:
            return
        self._grow(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._replaying:
            return
        version = self.parser.get_http_version()
        if version not in ("1.0", "1.1"):
            raise _Refused(_not_http(f"HTTP/{version} is not HTTP/1.x"))
        if version == "1.1" and not any(name == b"host" for name, _ in self.headers):
            raise _Refused(_not_http("Missing mandatory Host: header"))
        self._phase = "body"
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self.parser.should_upgrade():
            return  # the body, if any, is still to come (_feed)
        self._message_complete()

    def _message_complete(self) -> None:
        self._phase = "done"
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if self._phase == "done":
            self._phase = "idle"
        super().on_response_complete()

    def _grow(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_REQUEST_HEAD:
            raise _Refused(_head_too_large())

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
        if self._phase == "done" or self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started and not self.cycle.response_complete:
            self.transport.close()  # an answer is on its way already: only the connection goes
            return
        part = "body" if self._phase == "body" else "head"
        self._refuse(ApiError("request_timeout", f"The request {part} did not arrive: nothing came for"
                              f" {self.header_timeout:g} s"))

    def _refuse(self, error: ApiError) -> None:
        # the guard's security headers too: no app runs on this connection
        self.transport.write(http_bytes(error, (*SECURITY_HEADERS, API_CSP)))
        self.transport.close()

    def _should_upgrade(self) -> bool:
        return False  # no upgrade is performed, so none is logged as unsupported either

    def send_400_response(self, msg: str) -> None:
        self._refuse(_not_http("malformed request"))

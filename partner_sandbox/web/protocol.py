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
    """Raised in the parser's callbacks to stop it: the refusal itself is kept on the protocol."""


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


def _parser(protocol: HttpToolsProtocol) -> httptools.HttpRequestParser:
    parser = httptools.HttpRequestParser(protocol)
    # A Content-Length beside chunking means nothing (RFC 9112 §6.3), as h11 reads it; any other
    # Transfer-Encoding, which this leniency would read to the connection's end, is refused
    # (on_headers_complete).
    parser.set_dangerous_leniencies(lenient_data_after_close=True, lenient_chunked_length=True)
    return parser


class SandboxHttpToolsProtocol(HttpToolsProtocol):
    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.parser = _parser(self)
        self.header_timeout, self.max_connections = _limits()
        self.limit_concurrency = None  # uvicorn's own bound answers in plain text; ours is in connection_made
        self._head_timer: asyncio.TimerHandle | None = None
        self._phase = "idle"  # idle (no request begun), head, body (the head is in), done (the request is in)
        self._head_size = 0  # of the request line and the header lines the parser has read
        self._unread = 0  # bytes received while a head is not whole: what the parser keeps, bounded
        self._refusal: ApiError | None = None  # a request refused inside the parser's callbacks
        self._after: ApiError | None = None  # a refusal to write once the answers before it are written
        self._replaying = False  # the head a body after an ignored upgrade is read with

    def connection_made(self, transport) -> None:
        super().connection_made(cast(asyncio.Transport, _CorkedTransport(transport, self.loop)))  # as one
        if len(self.connections) > self.max_connections:
            self._refuse(ApiError("service_unavailable", f"The sandbox holds at most {self.max_connections}"
                                  " connections a process; retry shortly", headers={"Retry-After": "1"}))
            return
        self._await_head()

    def data_received(self, data: bytes) -> None:
        if self._after is not None:
            return  # refused: nothing more is read on this connection
        self._unset_keepalive_if_required()
        if self._phase == "idle":
            self._await_head()  # bytes came: a head is due (a kept-alive connection's next request)
        if self._phase == "head":
            self._unread += len(data)
        try:
            self._feed(data)
        except httptools.HttpParserError as exc:  # the parser's refusal, or one of ours in its callbacks
            refusal, self._refusal = self._refusal, None
            if refusal is None and isinstance(exc, httptools.HttpParserCallbackError):
                refusal = _not_http("invalid request target")  # uvicorn's URL parser refused it
            self._refuse(refusal or _not_http(str(exc).split(":")[0].rstrip(".") or "malformed request"))
            return
        if self._phase == "head" and self._unread > 2 * MAX_REQUEST_HEAD:
            self._refuse(_head_too_large())
        elif self._phase in ("head", "body"):
            self._head_arrived()
            self._await_head()  # the head and the body are awaited as long again after each part

    def _feed(self, data: bytes) -> None:
        view, offset = memoryview(data), 0
        while offset < len(view):
            try:
                self.parser.feed_data(view[offset:])
                return
            except httptools.HttpParserUpgrade as upgrade:
                # An upgrade this server does not perform: llhttp took the head as the end of HTTP/1.1
                # on this connection. The body (if any) is read on by a new parser, primed with a head
                # of the same framing, and the connection's next requests after it.
                offset += upgrade.args[0]
                self.parser = _parser(self)
                self._replaying = True
                try:  # (without a body, the primed head's end completes the request)
                    self.parser.feed_data(b"POST / HTTP/1.1\r\nHost: h\r\n" + self._framing() + b"\r\n")
                finally:
                    self._replaying = False

    def _framing(self) -> bytes:
        """The head line that frames the current request's body: chunked, or its length, or none."""
        if any(name == b"transfer-encoding" for name, _ in self.headers):
            return b"Transfer-Encoding: chunked\r\n"  # the only one on_headers_complete lets through
        length = next((value for name, value in self.headers if name == b"content-length"), None)
        return b"Content-Length: " + length + b"\r\n" if length is not None else b""

    def _pending(self) -> bool:
        """Whether an earlier request's answer is still to be written on this connection."""
        # `cycle` is the newest request whose head is whole: in the body phase, the current request's own
        running = None if self._phase == "body" else self.cycle
        return bool(self.pipeline) or (running is not None and not running.response_complete)

    # the parser's callbacks

    def on_message_begin(self) -> None:
        if self._replaying:
            return
        self._phase, self._head_size, self._unread = "head", 0, 0
        super().on_message_begin()
        self._await_head()

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
            self._refused(_not_http(f"HTTP/{version} is not HTTP/1.x"))
        if version == "1.1" and not any(name == b"host" for name, _ in self.headers):
            self._refused(_not_http("Missing mandatory Host: header"))
        codings = [value for name, value in self.headers if name == b"transfer-encoding"]
        if codings and (len(codings) > 1 or codings[0].strip().lower() != b"chunked"):
            self._refused(_not_http("Transfer-Encoding other than chunked"))  # RFC 9112 §6.3: 400
        self._phase = "body"
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self.parser.should_upgrade():
            return  # the body, if any, is still to come (_feed)
        self._message_complete()

    def _message_complete(self) -> None:
        self._phase = "done"
        self._head_arrived()
        super().on_message_complete()
        if self.cycle.response_complete:  # answered before its body ended: the connection idles now
            self._idle()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # (which starts a pipelined request's answer, if one waits)
        if self._after is not None and not self._pending():
            error, self._after = self._after, None
            self._refuse(error)
        elif self._phase == "done" and self.cycle.response_complete:
            self._idle()

    def _idle(self) -> None:
        """Every request in is answered: the connection waits for the next (uvicorn's keep-alive timeout)."""
        self._phase = "idle"
        if self.timeout_keep_alive_task is None and not self.transport.is_closing() and not self.pipeline:
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def _refused(self, error: ApiError) -> None:
        self._refusal = error
        raise _Refused  # httptools raises it as HttpParserCallbackError (data_received)

    def _grow(self, size: int) -> None:
        self._head_size += size
        if self._head_size > MAX_REQUEST_HEAD:
            self._refused(_head_too_large())

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
        if self._pending():
            self._await_head()  # an earlier request is still being answered: its answer comes first
            return
        if self._phase == "body" and self.cycle.response_started:
            self.transport.close()  # an answer to this request is on its way already: only the connection goes
            return
        part = "body" if self._phase == "body" else "head"
        self._refuse(ApiError("request_timeout", f"The request {part} did not arrive: nothing came for"
                              f" {self.header_timeout:g} s"))

    def _refuse(self, error: ApiError) -> None:
        if self._pending():  # written now, it would read as an earlier request's answer: it waits for them
            self._after = error
            self.flow.pause_reading()
            return
        # the guard's security headers too: no app runs on this connection
        self.transport.write(http_bytes(error, (*SECURITY_HEADERS, API_CSP)))
        self.transport.close()

    def _should_upgrade(self) -> bool:
        return False  # no upgrade is ever performed (uvicorn's would read the headers to decide)

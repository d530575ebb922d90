"""The HTTP/1.1 protocol the server runs: uvicorn's h11 protocol, with two differences.

- An upgrade the server does not perform (`Upgrade: h2c`, which Java's HttpClient sends on every
  plain-http request) is ignored as RFC 9110 §7.8 allows: the request is served as HTTP/1.1 with
  its body intact. h11 reads the body of a request that proposes an upgrade and drops the proposal
  when the answer is not a 101; uvicorn's httptools protocol loses the body instead (uvicorn #2722),
  which is why the server does not use it.
- The errors the server itself answers before any app runs (a request that is not HTTP/1.1, a
  request head over the limit) are the API's error envelope, not plain text.
"""

from __future__ import annotations

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..errors import ApiError
from .guard import API_CSP, MAX_HEADERS, SECURITY_HEADERS, error_head

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
    reason = str(refusal) if refusal is not None else "malformed request"
    return ApiError("invalid_request", f"The request is not valid HTTP/1.1: {reason}")


class SandboxH11Protocol(H11Protocol):
    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.conn = _Connection(h11.SERVER, MAX_REQUEST_HEAD)

    def _should_upgrade(self) -> bool:
        return False  # no upgrade is performed, so none is logged as unsupported either

    def send_400_response(self, msg: str) -> None:
        error = protocol_error(self.conn.refusal)
        body = error.body()
        # No app runs for it, so the guard's security headers are added here.
        head = h11.Response(status_code=error.status, headers=[*error_head(error, body), *SECURITY_HEADERS, API_CSP])
        for event in (head, h11.Data(data=body), h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()

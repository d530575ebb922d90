"""The outermost layer: a request id on every request and response, security headers on every
response, limits on header and body sizes (refused before the body is read; a chunked body is read
whole here, up to the limit), the per-IP rate limit of the Partner API when one is set, the
envelope for a fault of the sandbox's own, and the access log: one JSON line per request with its
id, method, path (link tokens redacted), status and duration. The lines of the requests that end in
one turn of the event loop go out as one log record, a line each (under load, one record for many
requests; when idle, a line goes out at once)."""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..offload import off_loop
from ..redaction import redact_link_tokens
from ..errors import ApiError
from ..domain.ratelimit import RateLimiter
from .batching import PerTurn
from .client import ClientAddress
from .errors import INTERNAL, send_error

access_log = logging.getLogger("partner_sandbox.access")
# Request ids tell requests apart in logs; they are no secret. Drawn from a generator seeded once from
# the OS (os.urandom is a system call a request, and system calls are dear in sandboxed machines).
_ids = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))  # a forked worker draws its own
log = logging.getLogger("partner_sandbox")

MAX_BODY = 64 * 1024
MAX_HEADERS = 32 * 1024
MAX_AUTHORIZATION = 8 * 1024
SANE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}\Z")
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
# API answers are data: nothing in them may run. Swagger UI pages bring their own scripts.
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class AccessLog(PerTurn[str]):
    """The access log's lines, written by turn of the event loop: one log record, a line each."""

    def __init__(self) -> None:
        super().__init__(lambda lines: access_log.info("\n".join(lines)))


class Guard:
    def __init__(self, app: ASGIApp, *, api_prefix: str, ip_limiter: RateLimiter | None = None,
                 client_address: ClientAddress | None = None, ui_paths: tuple[str, ...] = ()):
        self.access = AccessLog()
        self.app = app
        self.api_prefix = api_prefix.rstrip("/") + "/"
        self.ui_paths = tuple(p.rstrip("/") for p in ui_paths)  # Swagger UI: pages with scripts of their own
        self.ip_limiter = ip_limiter  # limits the Partner API's requests per client IP
        self.client_address = client_address or ClientAddress()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), b"")
        rid = incoming.decode() if SANE_REQUEST_ID.match(incoming) else f"{_ids.getrandbits(128):032x}"
        path = scope["path"]
        is_page = path.startswith("/qr/") or any(path == p or path.startswith(p + "/") for p in self.ui_paths)
        began = time.perf_counter()
        started = False
        status = 500

        async def send_(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.append((b"x-request-id", rid.encode()))
                # A page with a Content-Security-Policy of its own decides its framing by frame-ancestors.
                framing_decided = is_page and API_CSP[0] in present
                headers += [h for h in SECURITY_HEADERS
                            if h[0] not in present and not (framing_decided and h[0] == b"x-frame-options")]
                if not is_page and API_CSP[0] not in present:
                    headers.append(API_CSP)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self._guarded(scope, receive, send_)
        except Exception:  # a fault of the sandbox's own: the envelope, never uvicorn's plain text
            log.exception("unhandled error on %s %s", scope["method"], redact_link_tokens(scope["path"]))
            if not started:
                await send_error(send_, ApiError("internal_error", INTERNAL), path)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                path = json.dumps(redact_link_tokens(scope["path"]))
                elapsed = (time.perf_counter() - began) * 1000
                self.access.add(f'{{"request_id": "{rid}", "method": "{scope["method"]}", "path": {path},'
                                f' "status": {status}, "duration_ms": {elapsed:.2f}}}')

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        error = self._refusal(scope)
        if error is None and self.ip_limiter is not None and scope["path"].startswith(self.api_prefix):
            try:
                await off_loop(self.ip_limiter, self.ip_limiter.check, self.client_address(scope), "client IP")
            except ApiError as exc:
                error = exc
        if error is None:
            scope = _media_type_lowered(scope)
        if error is None and any(k == b"transfer-encoding" for k, _ in scope["headers"]):
            read = await _whole_body(scope, receive)
            if read is None:
                return  # the client left before its body ended
            scope, receive, error = read
        if error is not None:
            await send_error(send, error, scope["path"])
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _refusal(scope: Scope) -> ApiError | None:
        headers = scope["headers"]
        if sum(len(k) + len(v) for k, v in headers) > MAX_HEADERS:
            return ApiError("headers_too_large", f"The request headers exceed {MAX_HEADERS // 1024} KiB")
        for name, value in headers:
            if name == b"authorization" and len(value) > MAX_AUTHORIZATION:
                return ApiError("headers_too_large", f"The Authorization header exceeds {MAX_AUTHORIZATION // 1024} KiB")
            if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY:
                return _too_large()
        return None


def _media_type_lowered(scope: Scope) -> Scope:
    """Media types are case-insensitive (RFC 9110 §8.3.1): `APPLICATION/JSON` is JSON. The type is
    lower-cased here (its parameters kept), so that everything behind the guard reads it as such."""
    for i, (name, value) in enumerate(scope["headers"]):
        if name == b"content-type":
            media, sep, params = value.partition(b";")
            lowered = media.strip().lower()
            if lowered != media:
                headers = list(scope["headers"])
                headers[i] = (name, lowered + sep + params)
                return {**scope, "headers": headers}
    return scope


async def _whole_body(scope: Scope, receive: Receive) -> tuple[Scope, Receive, ApiError | None] | None:
    """A chunked body read whole before the app runs, so that everything behind the guard sees a
    request with a Content-Length (connexion reads a request without one as having no body). Bodies
    are small (MAX_BODY), so this costs little; past that it stops reading and answers 413."""
    parts: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return None
        part = message.get("body", b"")
        size += len(part)
        if size > MAX_BODY:
            return scope, receive, _too_large()
        parts.append(part)
        more = message.get("more_body", False)
    # A Content-Length sent beside the chunking is void (RFC 9112 §6.3): the one read here replaces it.
    headers = [(k, v) for k, v in scope["headers"] if k not in (b"transfer-encoding", b"content-length")]
    headers.append((b"content-length", str(size).encode()))
    whole = [{"type": "http.request", "body": b"".join(parts), "more_body": False}]

    async def replay() -> Message:
        return whole.pop() if whole else await receive()

    return {**scope, "headers": headers}, replay, None


def _too_large() -> ApiError:
    return ApiError("payload_too_large", f"The request body exceeds {MAX_BODY // 1024} KiB")

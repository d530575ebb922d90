"""The one error renderer of the HTTP side: an ApiError (errors.py, the vocabulary) becomes the
published `PartnerAPIError` envelope here, whoever answers, connexion's error handlers, the
middleware before it, the pages' flow endpoints or the HTTP/1.1 protocol itself; and connexion's and
starlette's own errors are put in the vocabulary first. One envelope per API: on the Public API's
paths (`/integrations/api`) the same errors are its published `ErrorResponse` instead."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from collections.abc import Iterable

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import Send

from ..errors import ACCESS_DENIED_MESSAGE, INVALID_TOKEN_MESSAGE, ApiError, AuthError, PublicApiError
from ..redaction import redact_link_tokens

MEDIA_TYPE = "application/json"
Headers = list[tuple[bytes, bytes]]
log = logging.getLogger("partner_sandbox")
INTERNAL = "The sandbox failed to handle the request"


PUBLIC_API_PREFIX = "/integrations/api"
# The Partner API's codes as the Public API's published `error_code`s, for the errors any API meets
# (validation, routing, limits, faults) when they happen on a Public API path.
_PUBLIC_ERROR_CODES = {
    "invalid_request": "validation_error",
    "payload_too_large": "validation_error",
    "headers_too_large": "validation_error",
    "unsupported_media_type": "validation_error",
    "request_timeout": "validation_error",
    "missing_header": "missing_credentials",
    "not_found": "not_found",
    "method_not_allowed": "not_supported",
    "rate_limited": "rate_limit_exceeded",
    "internal_error": "internal_error",
    "service_unavailable": "internal_error",
}


def is_public_api(path: str) -> bool:
    return path == PUBLIC_API_PREFIX or path.startswith(PUBLIC_API_PREFIX + "/")


def public_form(error: ApiError) -> tuple[dict, dict[str, str]]:
    """An error as the Public API's `ErrorResponse` and its headers: its own errors as they are;
    another's under the matching published code, 401s and 403s with the published messages, and the
    fields a schema check found at fault in `errors`."""
    if isinstance(error, PublicApiError):
        return error.to_dict(), error.headers
    headers = dict(error.headers)
    code = _PUBLIC_ERROR_CODES.get(error.code)
    message = error.description
    if error.status == 401:
        code, message = code or "invalid_token", INVALID_TOKEN_MESSAGE
        headers["WWW-Authenticate"] = PublicApiError.unauthorized(code).headers["WWW-Authenticate"]
    elif error.status == 403:
        code, message = "permission_denied", ACCESS_DENIED_MESSAGE
    body: dict = {"status": "error", "message": message}
    if code is not None:
        body["error_code"] = code
    if error.fields is not None:
        body["errors"] = [{"fields": error.fields, "msg": error.description}]
    return body, headers


def body_of(error: ApiError, path: str = "") -> bytes:
    """The error's envelope: the Public API's on its paths, the Partner API's everywhere else."""
    return json.dumps(public_form(error)[0] if is_public_api(path) else error.to_dict()).encode()


def head_of(error: ApiError, body: bytes, *, close: bool = False, path: str = "") -> Headers:
    """An error's headers: the JSON media type, its length, its own (Retry-After, WWW-Authenticate),
    and `Connection: close` when answered outside the app (the connection is not trusted after it)."""
    head = [(b"content-type", MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
    if close:
        head.append((b"connection", b"close"))
    own = public_form(error)[1] if is_public_api(path) else error.headers
    return head + [(k.lower().encode(), v.encode()) for k, v in own.items()]


async def answer(send: Send, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> None:
    """A whole response sent straight on the ASGI channel (by middleware that answers itself)."""
    await send({"type": "http.response.start", "status": status, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body})


def error_answer(error: ApiError, path: str = "", *, close: bool = False) -> tuple[int, Headers, bytes]:
    """An error's status, headers and envelope, for `answer`."""
    body = body_of(error, path)
    return error.status, head_of(error, body, close=close, path=path), body


async def send_error(send: Send, error: ApiError, path: str = "") -> None:
    await answer(send, *error_answer(error, path, close=True))


def http_bytes(error: ApiError, extra: Iterable[tuple[bytes, bytes]] = ()) -> bytes:
    """An error as the bytes of a whole HTTP/1.1 response, for a connection no app runs on."""
    body = body_of(error)
    head = [f"HTTP/1.1 {error.status} {HTTPStatus(error.status).phrase}".encode()]
    head += [name + b": " + value for name, value in (*head_of(error, body, close=True), *extra)]
    return b"\r\n".join(head) + b"\r\n\r\n" + body


def response(error: ApiError, headers: dict[str, str] | None = None) -> Response:
    """An error as a starlette response (the pages' JSON flow endpoints)."""
    return Response(body_of(error), status_code=error.status, media_type=MEDIA_TYPE,
                    headers={**error.headers, **(headers or {})})


# --- connexion's error handlers -------------------------------------------------------------------

def _connexion_response(error: ApiError, request: ConnexionRequest) -> ConnexionResponse:
    path = request.url.path
    headers = public_form(error)[1] if is_public_api(path) else error.headers
    return ConnexionResponse(status_code=error.status, body=body_of(error, path), content_type=MEDIA_TYPE,
                             headers=headers)


def translate(request: ConnexionRequest, status: int, fallback_detail: str) -> ApiError:
    """connexion's and starlette's own errors, in this project's vocabulary."""
    if status == 415:
        ctype = request.headers.get("content-type", "")
        return ApiError("unsupported_media_type", f"Content-Type '{ctype}' is not supported; send application/json")
    if status == 401:
        return AuthError("missing_header", "The Authorization header is required")
    if status == 404:
        return ApiError("not_found", f"No operation matches {request.method} {redact_link_tokens(request.url.path)}")
    if status == 405:
        return ApiError("method_not_allowed", f"{request.method} is not allowed on {redact_link_tokens(request.url.path)}")
    if 400 <= status < 500:
        return ApiError("invalid_request", fallback_detail)
    return ApiError("internal_error", INTERNAL)


def _api_error(request: ConnexionRequest, exc: ApiError) -> ConnexionResponse:
    return _connexion_response(exc, request)


def _problem(request: ConnexionRequest, exc: ProblemException) -> ConnexionResponse:
    if exc.status >= 500:
        log.error("request failed: %s %s", exc.title, exc.detail)
    return _connexion_response(translate(request, exc.status, str(exc.detail or exc.title)), request)


def _http_exception(request: ConnexionRequest, exc: HTTPException) -> ConnexionResponse:
    return _connexion_response(translate(request, exc.status_code, str(exc.detail)), request)


def _unexpected(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    log.error("unhandled error on %s %s", request.method, redact_link_tokens(request.url.path), exc_info=exc)
    return _connexion_response(ApiError("internal_error", INTERNAL), request)


# For the app's `add_error_handler`, most specific first.
ERROR_HANDLERS = ((ApiError, _api_error), (ProblemException, _problem), (HTTPException, _http_exception),
                  (Exception, _unexpected))

"""The fast lane for the hot operation: a well-formed `POST .../qr` is answered without connexion's
per-request machinery; anything else, and anything this lane cannot settle, goes to connexion.

The lane checks what connexion would check, from the same spec: the route, the JWT (the same
Authenticator), the `Content-Type`, the body against the spec's request schema (compiled once, with
its defaults) and the path parameters. It answers only when all of that passes and the domain
issues a link; every error response, `Prefer` header and unusual request is left to connexion, so
there is one place where errors are made. Nothing is written before the lane commits to answering:
a 404 from the domain rolls back and the request is replayed through connexion.
"""

from __future__ import annotations

import json
import re

import jsonschema_rs
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import ApiError
from ..services.sandbox import Sandbox
from ..spec import SpecDocument
from . import views
from .errors import answer
from .validation import STORABLE, json_object, response_validator
from .versioning import API_VERSION_HEADER

MAX_BODY = 64 * 1024
OPERATION_ID = "userRequestQRLink"
JSON_TYPES = {b"application/json", b"application/json; charset=utf-8", b"application/json;charset=utf-8"}


class FastLane:
    def __init__(self, app: ASGIApp, *, sandbox: Sandbox, spec: SpecDocument, validate_responses: bool):
        self.app = app
        self.sandbox = sandbox
        path, operation = spec.operation(OPERATION_ID)
        # The route as connexion matches it: an integer path parameter is digits only.
        params = {spec.resolve(p)["name"]: spec.resolve(p) for p in operation["parameters"]}
        pattern = re.escape(spec.base_path + path)
        for name, param in params.items():
            if param["in"] == "path":
                part = "[0-9]+" if param["schema"].get("type") == "integer" else "[^/]+"
                pattern = pattern.replace(re.escape("{" + name + "}"), f"(?P<{name}>{part})")
        self.route = re.compile(f"^{pattern}\\Z")
        # Compiled once, in Rust (jsonschema-rs), with Draft 4 semantics as connexion uses.
        media = operation["requestBody"]["content"]["application/json"]
        body_schema = spec.resolve(media["schema"])
        self.body_validator = jsonschema_rs.Draft4Validator(body_schema)
        self.body_defaults = {
            name: sub["default"] for name, sub in body_schema.get("properties", {}).items() if "default" in sub
        }
        self.user_validator = jsonschema_rs.Draft4Validator(params["user_id"]["schema"])
        self.response_validator = None
        if validate_responses:
            ok = spec.resolve(operation["responses"]["200"])["content"]["application/json"]["schema"]
            # Compiled in Rust too, formats checked. A wrong answer is a bug: it raises, and is a 500.
            self.response_validator = response_validator(spec.inline(ok))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not (match := self.route.match(scope["path"])):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])  # lower-case names; a repeated header goes the slow way
        if len(headers) != len(scope["headers"]) or b"prefer" in headers:
            await self.app(scope, receive, send)
            return
        body, messages = await _read_body(receive, headers)
        issued = self._answer(match, headers, body) if body is not None else None
        if issued is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        partner_id, payload = issued
        # What connexion's security layer would have left for the request journal.
        scope.setdefault("extensions", {}).setdefault("connexion_context", {})["token_info"] = {"partner_id": partner_id}
        await answer(send, 200, [(b"content-type", b"application/json"), (b"cache-control", b"no-store"),
                                 API_VERSION_HEADER, (b"content-length", str(len(payload)).encode())], payload)

    def _answer(self, match: re.Match, headers: dict, body: bytes) -> tuple[str, bytes] | None:
        """(partner, response body) when every check passes and a link was issued; else None."""
        if body and headers.get(b"content-type") not in JSON_TYPES:
            return None
        if not body and b"content-type" in headers and headers[b"content-type"] not in JSON_TYPES:
            return None
        try:
            user_id = int(match["user_id"])
            partner_id = self.sandbox.authenticator.authenticate(
                headers.get(b"authorization", b"").decode("latin-1") or None,
                headers.get(b"x-tl-partner-id", b"").decode("latin-1") or None,
            )
            document = json_object(body)
        except (ValueError, ApiError):
            return None
        if not STORABLE[0] <= user_id <= STORABLE[1]:
            return None
        if self.sandbox.limiter.take(partner_id):
            return None  # over the rate: connexion's security layer answers the 429
        if not self.user_validator.is_valid(user_id) or not self.body_validator.is_valid(document):
            return None
        document = {**self.body_defaults, **document}
        try:
            issued = self.sandbox.issue_qr_link(partner_id, match["workspace_id"], user_id, document["expires_in_hours"])
        except ApiError:
            return None  # nothing was written; connexion answers with the problem
        response = views.issued_link(issued, self.sandbox.link_url(issued.token))
        if self.response_validator is not None:
            self.response_validator.validate(response)
        return partner_id, json.dumps(response).encode()


async def _read_body(receive: Receive, headers: dict) -> tuple[bytes | None, list[Message]]:
    """The whole body (None when it is larger than the lane takes), and the messages to replay."""
    messages: list[Message] = []
    size = 0
    length = headers.get(b"content-length")
    if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > MAX_BODY):
        return None, messages
    while True:
        message = await receive()
        messages.append(message)
        size += len(message.get("body", b""))
        if message["type"] != "http.request" or size > MAX_BODY:
            return None, messages
        if not message.get("more_body", False):
            return b"".join(m.get("body", b"") for m in messages), messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay

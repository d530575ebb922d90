"""The Public API's fast lane: a plain `GET /integrations/api/whatsapp_accounts` (the call integrations
make to check a token) answered without connexion's per-request machinery, in one store transaction
that finds the token's workspace, counts the call and reads the accounts. Anything else, and any
refusal (401, 403, 429), goes to connexion, which makes every error response: the lane's transaction
is rolled back first, so the call is counted once, there."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ApiError
from ..services.sandbox import Sandbox
from ..spec import SpecDocument
from . import public_views
from .errors import answer
from .validation import response_validator

OPERATION_ID = "getWhatsappAccounts"


class PublicFastLane:
    def __init__(self, app: ASGIApp, *, sandbox: Sandbox, spec: SpecDocument, validate_responses: bool):
        self.app = app
        self.sandbox = sandbox
        path, operation = spec.operation(OPERATION_ID)
        self.path = spec.base_path + path
        self.response_validator = None
        if validate_responses:  # compiled once, in Rust, as the QR lane's; a wrong answer raises (a 500)
            ok = spec.resolve(operation["responses"]["200"])["content"]["application/json"]["schema"]
            self.response_validator = response_validator(spec.inline(ok))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])  # lower-case names; a repeated header goes the slow way
        if len(headers) != len(scope["headers"]) or b"content-length" in headers or b"transfer-encoding" in headers:
            await self.app(scope, receive, send)
            return
        try:
            accounts = self.sandbox.public_accounts_of_call(
                headers.get(b"authorization", b"").decode("latin-1") or None)
        except ApiError:
            await self.app(scope, receive, send)  # connexion answers (and counts) it
            return
        response = public_views.whatsapp_accounts(accounts)
        if self.response_validator is not None:
            self.response_validator.validate(response)
        payload = json.dumps(response).encode()
        await answer(send, 200, [(b"content-type", b"application/json"),
                                 (b"content-length", str(len(payload)).encode())], payload)

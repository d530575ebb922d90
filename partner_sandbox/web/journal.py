"""The request journal: each authenticated Partner API request (and each one of a path or method no
operation has, when its credentials prove the partner), kept per partner for the control API."""

from __future__ import annotations

from datetime import datetime, UTC
from collections.abc import Callable

import time
import logging
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..domain.clock import rfc3339
from ..errors import ApiError
from ..redaction import REDACTED, SECRET_HEADERS
from ..offload import StoreCalls
from .batching import PerTurn

log = logging.getLogger("partner_sandbox.web.journal")

BODY_LIMIT = 16 * 1024  # bytes of each body kept


def _text(chunks: list[bytes], redact: Callable[[str], str]) -> str | None:
    raw = b"".join(chunks)[:BODY_LIMIT]
    return redact(raw.decode("utf-8", errors="replace")) if raw else None


def _headers(pairs) -> dict[str, str]:
    """Headers as the journal keeps them: secret ones (Authorization, cookies, ...) redacted."""
    return {k.decode("latin-1"): REDACTED if k.lower() in SECRET_HEADERS else v.decode("latin-1") for k, v in pairs}


class RequestJournal:
    """Wraps the app; after each response on `prefix`, records it for the authenticated partner.

    On SQLite entries are gathered by turn of the event loop (batching.PerTurn) and written in the
    store's group commit (offload.StoreCalls), with the requests of the turn after: under load many
    requests share one store transaction, and when idle an entry is written two turns after its
    answer. On a networked store (PostgreSQL) each entry is written in a worker thread before the
    answer's last bytes leave, one transaction a request, so that a partner who has the answer finds
    it on every replica.
    """

    def __init__(self, app: ASGIApp, *, prefix: str, record: Callable[[list[tuple[str, dict]]], None],
                 redact: Callable[[str], str], authenticate: Callable[[str | None, str | None], str],
                 calls: StoreCalls):
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"
        self.record = record
        self.redact = redact
        self.authenticate = authenticate
        self.calls = calls
        self.network = calls.store.network  # round trips: each entry written before its answer ends
        self._entries: PerTurn[tuple[str, dict]] = PerTurn(lambda entries: calls.submit(self._write, entries))

    def _write(self, entries: list[tuple[str, dict]]) -> None:
        try:
            self.record(entries)
        except ApiError as exc:  # the store is unavailable: the journal loses these entries
            log.warning("request journal: %d entries not kept: %s", len(entries), exc.description)

    def _proven(self, scope: Scope) -> str | None:
        """The partner a request's credentials prove, for an answer given before authentication ran
        (a path or method no operation has): such a mistake is the partner's to see too. Credentials
        that prove nobody (or an inactive partner) keep the request out of every journal."""
        headers = dict(scope["headers"])
        authorization, partner = headers.get(b"authorization"), headers.get(b"x-tl-partner-id")
        if authorization is None or partner is None:
            return None
        try:
            return self.authenticate(authorization.decode("latin-1"), partner.decode("latin-1"))
        except ApiError:
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        # connexion's security layer (or the pipeline) writes the verified token_info into this shared dict.
        context = scope.setdefault("extensions", {}).setdefault("connexion_context", {})
        arrived = datetime.now(UTC)
        started = time.perf_counter()
        request_body: list[bytes] = []
        response_body: list[bytes] = []
        response_headers: list[tuple[bytes, bytes]] = []
        status = 500
        kept = False

        def entry() -> tuple[str, dict] | None:
            partner_id = (context.get("token_info") or {}).get("partner_id")
            if not partner_id and status in (404, 405):
                partner_id = self._proven(scope)
            if not partner_id:
                return None
            return partner_id, {
                "time": rfc3339(arrived),
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "method": scope["method"],
                "path": scope["path"],
                "query": self.redact(scope.get("query_string", b"").decode("latin-1")),
                "status": status,
                "request_headers": _headers(scope["headers"]),
                "request_body": _text(request_body, self.redact),
                "response_headers": _headers(response_headers),
                "response_body": _text(response_body, self.redact),
            }

        async def receive_() -> Message:
            message = await receive()
            if message["type"] == "http.request" and sum(map(len, request_body)) < BODY_LIMIT:
                request_body.append(message.get("body", b""))
            return message

        async def send_(message: Message) -> None:
            nonlocal status, kept
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers.extend(message.get("headers") or ())
            elif message["type"] == "http.response.body":
                if sum(map(len, response_body)) < BODY_LIMIT:
                    response_body.append(message.get("body", b""))
                if self.network and not message.get("more_body", False):
                    # On a networked store the entry is written, off the event loop, before the
                    # answer's end leaves: a partner who has the answer finds it in the journal.
                    made = entry()
                    if made is not None:
                        await self.calls.call(self._write, [made])
                    kept = True
            await send(message)

        try:
            await self.app(scope, receive_, send_)
        finally:
            made = None if kept else entry()
            if made is not None:
                self._entries.add(made)

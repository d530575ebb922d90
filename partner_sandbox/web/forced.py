"""Scenario control through `Prefer` (RFC 7240), as Prism does: forced documented responses and delays."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ApiError
from ..spec import SpecDocument
from .errors import answer

MAX_DELAY_MS = 10_000


@dataclass(frozen=True)
class Preferences:
    code: int | None = None
    example: str | None = None
    delay_ms: int = 0


def parse_prefer(values: list[str]) -> Preferences:
    """`Prefer: code=429, example=rate_limited` and `Prefer: delay=500`; unknown preferences are ignored."""
    found: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            token = item.split(";", 1)[0].strip()
            if not token:
                continue
            name, _, raw = token.partition("=")
            found[name.strip().lower()] = raw.strip().strip('"')
    code = found.get("code")
    if code is not None and not (code.isascii() and code.isdigit() and len(code) == 3):
        raise ApiError("invalid_request", f"Prefer code={code!r} is not an HTTP status code")
    delay = found.get("delay", "0")
    if not (delay.isascii() and delay.isdigit() and len(delay) <= 6) or int(delay) > MAX_DELAY_MS:
        raise ApiError("invalid_request",
                       f"Prefer delay={delay!r} must be a whole number of milliseconds, at most {MAX_DELAY_MS}")
    return Preferences(int(code) if code else None, found.get("example") or None, int(delay))


def forced_response(spec: SpecDocument, operation_id: str, prefs: Preferences) -> tuple[int, dict, bytes]:
    """status, headers and body of the documented response the preferences pick."""
    responses = spec.operation(operation_id)[1]["responses"]
    statuses = sorted(responses, key=str)
    if prefs.code is not None and str(prefs.code) not in responses:
        raise ApiError(
            "invalid_request",
            f"code={prefs.code} is not documented for this operation; documented: {', '.join(statuses)}",
        )
    candidates = [str(prefs.code)] if prefs.code is not None else statuses
    for status in candidates:
        response = spec.resolve(responses[status])
        content = response.get("content", {})
        media_type, media = next(iter(content.items()), (None, dict[str, Any]()))
        named = {name: spec.resolve(ex)["value"] for name, ex in (media.get("examples") or {}).items()}
        if prefs.example is not None:
            if prefs.example not in named:
                continue
            body = named[prefs.example]
        elif "example" in media:
            body = media["example"]
        else:
            body = next(iter(named.values()), None)
        headers = {
            name: str(spec.resolve(h).get("example", spec.resolve(h).get("schema", {}).get("enum", [""])[0]))
            for name, h in (response.get("headers") or {}).items()
        }
        if media_type is not None:
            headers["Content-Type"] = media_type
        return int(status), headers, b"" if body is None else json.dumps(body).encode()
    where = f"the {prefs.code} response" if prefs.code is not None else "this operation"
    raise ApiError("invalid_request", f"example={prefs.example!r} is not an example of {where}")


class ForcedResponses:
    """After authentication: honour `Prefer` on operations of the given specs (delay, then force)."""

    def __init__(self, app: ASGIApp, specs: list[SpecDocument]):
        self.app = app
        self.specs = {spec.base_path: spec for spec in specs}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        prefer = [v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"prefer"]
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        spec = self.specs.get(routing.get("api_base_path"))
        if scope["type"] != "http" or not prefer or spec is None:
            await self.app(scope, receive, send)
            return
        prefs = parse_prefer(prefer)
        if prefs.delay_ms:
            await asyncio.sleep(prefs.delay_ms / 1000)
        if prefs.code is None and prefs.example is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = forced_response(spec, routing["operation_id"], prefs)
        applied = ", ".join(
            p for p in (f"code={status}", f"example={prefs.example}" if prefs.example else "") if p
        )
        raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        raw_headers += [(b"content-length", str(len(body)).encode()), (b"preference-applied", applied.encode())]
        await answer(send, status, raw_headers, body)

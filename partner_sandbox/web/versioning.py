"""The Partner API's version on each of its successes, `X-TL-API-Version: v1`, as the published
operations document it: the rule (VersionRule), applied by the pipeline and, on connexion's path, by
the ApiVersion middleware inside connexion (before its context), so that response validation sees it."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_VERSION_HEADER = (b"x-tl-api-version", b"v1")


class VersionRule:
    def __init__(self, base_path: str):
        self.base_path = base_path

    def headers(self, api_base_path: str | None, status: int) -> list[tuple[bytes, bytes]]:
        """The headers an answer of `status` from the API at `api_base_path` carries."""
        return [API_VERSION_HEADER] if api_base_path == self.base_path and 200 <= status < 300 else []


class ApiVersion:
    def __init__(self, app: ASGIApp, base_path: str):
        self.app = app
        self.rule = VersionRule(base_path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        if scope["type"] != "http" or routing.get("api_base_path") != self.rule.base_path:
            await self.app(scope, receive, send)
            return

        async def send_(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = self.rule.headers(self.rule.base_path, message["status"])
                if extra:
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_)

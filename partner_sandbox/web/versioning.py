"""The Partner API's version on each of its successes, `X-TL-API-Version: v1`, as the published
operations document it. Inside connexion (before its context), so that response validation sees it."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_VERSION_HEADER = (b"x-tl-api-version", b"v1")


class ApiVersion:
    def __init__(self, app: ASGIApp, base_path: str):
        self.app = app
        self.base_path = base_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        if scope["type"] != "http" or routing.get("api_base_path") != self.base_path:
            await self.app(scope, receive, send)
            return

        async def send_(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                message = {**message, "headers": [*message.get("headers", []), API_VERSION_HEADER]}
            await send(message)

        await self.app(scope, receive, send_)

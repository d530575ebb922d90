"""The yardstick: a bare uvicorn ASGI app answering every request with a constant JSON."""

BODY = b'{"workspace_id": "bench", "user_id": 1, "ok": true}'


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body
        more = (await receive()).get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})

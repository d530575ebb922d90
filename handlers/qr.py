"""Handlers for the `qr` tag of openapi.yaml: thin calls into the sandbox's services.
Async on purpose: store calls are short and run on the event loop, not in a thread pool where the
thread holding the store's lock would wait for the GIL (see Performance in the README)."""

from __future__ import annotations

from connexion import request

from partner_sandbox.web import views

HEADERS = {"Cache-Control": "no-store", "Content-Type": "application/json"}


async def user_request_qr_link(workspace_id: str, user_id: int, body: dict, token_info: dict):
    sandbox = request.state.sandbox
    issued = sandbox.issue_qr_link(token_info["partner_id"], workspace_id, user_id, body["expires_in_hours"])
    return views.issued_link(issued, sandbox.link_url(issued.token)), 200, HEADERS

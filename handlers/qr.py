"""Handlers for the `qr` tag of openapi.yaml: thin calls into the sandbox's services.
Plain functions: web/pipeline.py calls them on the event loop when the store is a local file and in
a worker thread when it is PostgreSQL (see Performance in the README)."""

from __future__ import annotations

from connexion import request

from partner_sandbox.web import views

HEADERS = {"Cache-Control": "no-store", "Content-Type": "application/json"}


def user_request_qr_link(workspace_id: str, user_id: int, body: dict, token_info: dict):
    sandbox = request.state.sandbox
    issued = sandbox.issue_qr_link(token_info["partner_id"], workspace_id, user_id, body["expires_in_hours"])
    return views.issued_link(issued, sandbox.link_url(issued.token)), 200, HEADERS

"""Handlers for the `qr` tag of openapi.yaml: thin calls into the sandbox's domain."""

from __future__ import annotations

from connexion import request

from partner_sandbox.domain import rfc3339

HEADERS = {"Cache-Control": "no-store", "Content-Type": "application/json"}


def issue_qr_link(workspace_id: str, user_id: int, body: dict, token_info: dict):
    sandbox = request.state.sandbox
    issued = sandbox.issue_qr_link(token_info["partner_id"], workspace_id, user_id, body["expires_in_hours"])
    return (
        {
            "workspace_id": issued.workspace_id,
            "user_id": issued.user_id,
            "qr_link": sandbox.link_url(issued.token),
            "expires_at": rfc3339(issued.expires_at),
            "whatsapp_disconnected": issued.whatsapp_disconnected,
            "previous_qr_revoked": issued.previous_qr_revoked,
        },
        200,
        HEADERS,
    )

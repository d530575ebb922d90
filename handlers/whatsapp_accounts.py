"""Handlers for the `whatsappAccounts` tag of openapi.yaml: thin calls into the sandbox's services."""

from __future__ import annotations

from connexion import request

from partner_sandbox.web import views

JSON = {"Content-Type": "application/json"}


def disconnect_wa(workspace_id: str, user_id: int, token_info: dict):
    result = request.state.sandbox.disconnect_whatsapp(token_info["partner_id"], workspace_id, user_id)
    return views.disconnection(result), 200, JSON

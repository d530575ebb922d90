"""Handlers for the `publicAPI` tag of openapi.yaml: thin calls into the sandbox's services. The token
is a secret: answers are never cached."""

from __future__ import annotations

from connexion import request

from partner_sandbox.web import views

HEADERS = {"Cache-Control": "no-store", "Content-Type": "application/json"}


def get_public_api_token(workspace_id: str, token_info: dict):
    return views.public_token(request.state.sandbox.public_api_token(token_info["partner_id"], workspace_id)), 200, HEADERS


def rotate_public_api_token(workspace_id: str, token_info: dict):
    rotated = request.state.sandbox.rotate_public_api_token(token_info["partner_id"], workspace_id)
    return views.public_token(rotated), 201, HEADERS

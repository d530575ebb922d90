"""Handlers for the `workspaces` tag of openapi.yaml: thin calls into the sandbox's services."""

from __future__ import annotations

from connexion import request

from partner_sandbox.web import views

JSON = {"Content-Type": "application/json"}
SECRET = {"Cache-Control": "no-store", "Content-Type": "application/json"}  # the details list live QR links


def workspace_create(body: dict, token_info: dict):
    created = request.state.sandbox.create_workspace(token_info["partner_id"], body["display_name"], body["seats_purchased"])
    return views.workspace(created), 201, JSON


def workspace_get(workspace_id: str, token_info: dict):
    sandbox = request.state.sandbox
    details = sandbox.workspace_details(token_info["partner_id"], workspace_id)
    return views.workspace_details(details, sandbox.link_url), 200, SECRET


def workspace_update(workspace_id: str, token_info: dict, body: dict | None = None):
    body = body or {}
    updated = request.state.sandbox.update_workspace(token_info["partner_id"], workspace_id, body.get("display_name"),
                                                     body.get("seats_purchased"))
    return views.workspace(updated), 200, JSON


def workspace_create_users(workspace_id: str, body: dict, token_info: dict):
    record, members = request.state.sandbox.create_users(token_info["partner_id"], workspace_id, body["count"])
    return views.created_users(record, members), 201, JSON

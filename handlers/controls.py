"""Handlers for the `controls` tag of sandbox.yaml: thin calls into the sandbox's services.
Plain functions: web/pipeline.py calls them on the event loop when the store is a local file and in
a worker thread when it is PostgreSQL (see Performance in the README)."""

from __future__ import annotations

import re

from connexion import request

from partner_sandbox.web import views
from partner_sandbox.web.har import har
from partner_sandbox.errors import ApiError

JSON = {"Content-Type": "application/json"}


def create_token(body: dict):
    token, expires = request.state.sandbox.sign_in(body["partner_id"], body["secret"])
    return {"token": token, "partner_id": body["partner_id"], "expires_at": views.rfc3339_seconds(expires)}, 201, {
        **JSON, "Cache-Control": "no-store"}


def list_workspaces(token_info: dict, limit: int = 50, users: int = 100):
    sandbox = request.state.sandbox
    world = sandbox.workspaces_of(token_info["partner_id"], limit, users)
    return {"workspaces": [views.workspace_details(d, sandbox.link_url) for d in world]}, 200, JSON


def get_workspace_state(workspace_id: str, token_info: dict):
    sandbox = request.state.sandbox
    details = sandbox.workspace_details(token_info["partner_id"], workspace_id)
    return views.workspace_details(details, sandbox.link_url), 200, JSON


def simulate_usage(workspace_id: str, body: dict, token_info: dict):
    sandbox = request.state.sandbox
    (kind, amount), = body.items()
    details = sandbox.simulate_usage(token_info["partner_id"], workspace_id, kind, amount)
    return views.workspace_details(details, sandbox.link_url), 200, JSON


def get_user_state(workspace_id: str, user_id: int, token_info: dict):
    return views.user_state(request.state.sandbox.user_view(token_info["partner_id"], workspace_id, user_id)), 200, JSON


def simulate_scan(workspace_id: str, user_id: int, token_info: dict):
    return views.user_state(request.state.sandbox.scan_user(token_info["partner_id"], workspace_id, user_id)), 200, JSON


def enter_pairing_code(workspace_id: str, user_id: int, body: dict, token_info: dict):
    view = request.state.sandbox.enter_pairing_code(token_info["partner_id"], workspace_id, user_id, body["code"])
    return views.user_state(view), 200, JSON


def force_failure(workspace_id: str, user_id: int, body: dict, token_info: dict):
    cause = request.state.sandbox.force_failure(token_info["partner_id"], workspace_id, user_id, body["cause"])
    return {"cause": cause}, 200, JSON


def clear_failure(workspace_id: str, user_id: int, token_info: dict):
    request.state.sandbox.force_failure(token_info["partner_id"], workspace_id, user_id, None)
    return None, 204


def get_embedding_origins(token_info: dict):
    return {"origins": request.state.sandbox.embedding_origins(token_info["partner_id"])}, 200, JSON


def set_embedding_origins(body: dict, token_info: dict):
    return {"origins": request.state.sandbox.set_embedding_origins(token_info["partner_id"], body["origins"])}, 200, JSON


def check_public_api_token(body: dict, token_info: dict):
    workspace_id = request.state.sandbox.public_api_token_workspace(token_info["partner_id"], body["token"])
    return {"valid": workspace_id is not None, "workspace_id": workspace_id}, 200, JSON


def get_clock(token_info: dict):
    return views.clock(*request.state.sandbox.clock_view(token_info["partner_id"])), 200, JSON


def change_clock(body: dict, token_info: dict):
    return views.clock(*request.state.sandbox.change_clock(token_info["partner_id"], body)), 200, JSON


def reset_sandbox(token_info: dict):
    request.state.sandbox.reset(token_info["partner_id"])
    return None, 204


def list_requests(token_info: dict, limit: int = 20):
    entries = request.state.sandbox.journal(token_info["partner_id"], limit)
    return {"requests": [views.journal_entry(e) for e in entries]}, 200, JSON


def export_requests(token_info: dict, limit: int = 200):
    sandbox, partner_id = request.state.sandbox, token_info["partner_id"]
    entries = [views.journal_entry(e) for e in sandbox.journal(partner_id, limit)]
    return har(entries, sandbox.settings.base_url), 200, {
        "Content-Type": "application/json", "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="partner-sandbox-{re.sub(r"[^A-Za-z0-9._-]", "_", partner_id)}.har"'}


def get_webhook(token_info: dict):
    return {"url": request.state.sandbox.webhook(token_info["partner_id"])}, 200, JSON


def set_webhook(body: dict, token_info: dict):
    request.state.sandbox.set_webhook(token_info["partner_id"], body["url"])
    return {"url": body["url"]}, 200, JSON


def delete_webhook(token_info: dict):
    request.state.sandbox.set_webhook(token_info["partner_id"], None)
    return None, 204


def list_deliveries(token_info: dict, limit: int = 20):
    records = request.state.sandbox.deliveries(token_info["partner_id"], limit)
    return {"deliveries": [views.delivery(r, token_info["partner_id"]) for r in records]}, 200, JSON


def redeliver_event(delivery_id: int, token_info: dict):
    if not request.state.sandbox.redeliver(token_info["partner_id"], delivery_id):
        raise ApiError("delivery_not_found", f"Delivery {delivery_id} was not found")
    return None, 202


def list_sent_messages(workspace_id: str, token_info: dict, limit: int = 100):
    from partner_sandbox.web import public_views  # the Public API's views: this control alone uses them

    records, now = request.state.sandbox.sent_messages(token_info["partner_id"], workspace_id, limit)
    return {"messages": [public_views.sent_message(r, now) for r in records]}, 200, JSON

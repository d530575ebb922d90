"""Handlers for the `publicWorkspace` tag of public_api.yaml (the Public API): thin calls into the
sandbox's services. `token_info` is the caller the Public API token named (web/app.py)."""

from __future__ import annotations

from connexion import request

from partner_sandbox.domain.public_api import Caller
from partner_sandbox.web import public_views

JSON = {"Content-Type": "application/json"}


def get_workspace(token_info: dict):
    return public_views.workspace(request.state.sandbox.public_workspace(Caller(**token_info))), 200, JSON


def get_teammates(token_info: dict):
    return public_views.teammates(request.state.sandbox.public_workspace(Caller(**token_info))), 200, JSON

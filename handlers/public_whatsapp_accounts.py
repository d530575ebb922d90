"""Handlers for the `publicWhatsappAccounts` tag of public_api.yaml (the Public API): thin calls into
the sandbox's services. `token_info` is the caller the Public API token named (web/app.py)."""

from __future__ import annotations

from connexion import request

from partner_sandbox.domain.public_api import Caller
from partner_sandbox.web import public_views

JSON = {"Content-Type": "application/json"}


def get_whatsapp_accounts(token_info: dict):
    accounts = request.state.sandbox.public_accounts(Caller(**token_info))
    return public_views.whatsapp_accounts(accounts), 200, JSON

"""Handlers for the `publicMessages` tag of public_api.yaml (the Public API): thin calls into the
sandbox's services. `token_info` is the caller the Public API token named (web/app.py)."""

from __future__ import annotations

from connexion import request

from partner_sandbox.domain.public_api import Caller
from partner_sandbox.web import public_views

JSON = {"Content-Type": "application/json"}


def send_message_to_phone(body: dict, token_info: dict):
    message = request.state.sandbox.send_message(Caller(**token_info), body)
    return public_views.message_id(message), 200, JSON


def get_message(message_uid: str, token_info: dict):
    message, now = request.state.sandbox.public_message(Caller(**token_info), message_uid)
    return public_views.message(message, now), 200, JSON


def get_message_status_history(message_uid: str, token_info: dict):
    message, now = request.state.sandbox.public_message(Caller(**token_info), message_uid)
    return public_views.history(message, now), 200, JSON

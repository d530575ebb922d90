"""Schemathesis hooks for `partner-sandbox contract-test`: a fresh partner JWT on every request (or,
for the Public API's spec, the workspace's Public API token), and the pinned workspaces and users for
positive cases. Configured through environment variables."""

from __future__ import annotations

import json
import os
import random
import re

import schemathesis
from schemathesis.core.parameters import ParameterLocation

from partner_sandbox.auth import Partner, mint_token

PARTNER = Partner(os.environ.get("PARTNER_SANDBOX_CT_PARTNER_ID", "sandbox-partner"),
                  os.environ.get("PARTNER_SANDBOX_CT_SECRET", "sandbox-partner-secret-for-local-testing"))
PINS = json.loads(os.environ.get("PARTNER_SANDBOX_CT_PINS", "[]"))  # [[workspace_id, user_id], ...]
PUBLIC_API_TOKEN = os.environ.get("PARTNER_SANDBOX_CT_PUBLIC_API_TOKEN")  # a workspace's, for public_api.yaml


@schemathesis.auth(refresh_interval=None)
class PartnerJWT:
    """The partner guide's token, minted per request (tokens live minutes; a run may take longer)."""

    def get(self, case, ctx):
        if PUBLIC_API_TOKEN:  # the Public API: the workspace's token, as it is (no partner header)
            return PUBLIC_API_TOKEN
        return mint_token(PARTNER, ttl_seconds=180)

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
        # A generated partner id would never match the token; a missing one stays missing.
        if "X-TL-Partner-Id" in case.headers:
            case.headers["X-TL-Partner-Id"] = PARTNER.id


@schemathesis.hook
def map_case(context, case):
    """Valid path parameters become one of the pinned (workspace, user) pairs, so that positive
    cases reach real users; invalid ones stay as generated."""
    negative = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    params = case.path_parameters or {}
    if PINS and not negative and {"workspace_id", "user_id"} <= set(params):
        workspace_id, user_id = random.choice(PINS)
        case.path_parameters = {**params, "workspace_id": workspace_id, "user_id": user_id}
    if PUBLIC_API_TOKEN and case.operation.method.lower() == "post" and case.operation.path == "/messages":
        case.body = _with_published_prose_rules(case)
    return case


def _with_published_prose_rules(case):
    """A positive `POST /messages` body made to keep the rules the Public API states in prose, which
    its schema cannot say: text, an attachment or both; no NUL in a string; a phone number in
    international format. (A body off the schema stays as generated.)"""
    body = case.body
    negative = case.meta is not None and case.meta.is_negative_at(ParameterLocation.BODY)
    if negative or not isinstance(body, dict):
        return body
    body = {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in body.items()}
    if not body.get("text") and body.get("file_uid") is None and body.get("attachment_template_id") is None:
        body["text"] = "Hello"
    if not re.fullmatch(r"\+?[0-9]{7,15}", re.sub(r"[\s().\-]", "", str(body.get("phone", "")))):
        body["phone"] = "+14840000000"
    return body

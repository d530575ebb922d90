"""Schemathesis hooks for `partner-sandbox contract-test`: a fresh partner JWT on every request, and
the pinned workspaces and users for positive cases. Configured through environment variables."""

from __future__ import annotations

import json
import os
import random

import schemathesis
from schemathesis.core.parameters import ParameterLocation

from partner_sandbox.auth import Partner, mint_token

PARTNER = Partner(os.environ.get("PARTNER_SANDBOX_CT_PARTNER_ID", "sandbox-partner"),
                  os.environ.get("PARTNER_SANDBOX_CT_SECRET", "sandbox-partner-secret-for-local-testing"))
PINS = json.loads(os.environ.get("PARTNER_SANDBOX_CT_PINS", "[]"))  # [[workspace_id, user_id], ...]


@schemathesis.auth(refresh_interval=None)
class PartnerJWT:
    """The partner guide's token, minted per request (tokens live minutes; a run may take longer)."""

    def get(self, case, ctx):
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
    return case

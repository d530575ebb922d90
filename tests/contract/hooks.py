"""Schemathesis hooks: a fresh partner JWT on every request (tokens live three minutes)."""

from __future__ import annotations

import os
import time

import jwt
import schemathesis

PARTNER = os.environ.get("SANDBOX_PARTNER_ID", "sandbox-partner")
SECRET = os.environ.get("SANDBOX_PARTNER_SECRET", "sandbox-partner-secret-for-local-testing")


@schemathesis.auth(refresh_interval=None)
class PartnerJWT:
    """The partner guide's token: HS256, partner_id, nbf = now - 3 min, exp = now + 3 min."""

    def get(self, case, ctx):
        now = int(time.time())
        return jwt.encode({"partner_id": PARTNER, "nbf": now - 180, "exp": now + 180}, SECRET, algorithm="HS256")

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
        # A generated partner id would never match the token; a missing one stays missing.
        if "X-TL-Partner-Id" in case.headers:
            case.headers["X-TL-Partner-Id"] = PARTNER

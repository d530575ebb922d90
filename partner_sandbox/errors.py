"""One error vocabulary: every error is a typed Problem rendered as RFC 9457 problem+json."""

from __future__ import annotations

import json
from typing import Mapping

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:partner-sandbox:problem:"

# Every code the sandbox can answer with: code -> (status, title). openapi.yaml documents each.
CODES: dict[str, tuple[int, str]] = {
    "invalid_parameter": (400, "Invalid parameter"),
    "malformed_json": (400, "Malformed JSON body"),
    "invalid_body": (400, "Invalid request body"),
    "invalid_prefer": (400, "Invalid Prefer header"),
    "missing_credentials": (401, "Authentication failed"),
    "invalid_authorization_header": (401, "Authentication failed"),
    "missing_partner_id": (401, "Authentication failed"),
    "unknown_partner": (401, "Authentication failed"),
    "malformed_token": (401, "Authentication failed"),
    "unsupported_algorithm": (401, "Authentication failed"),
    "invalid_signature": (401, "Authentication failed"),
    "token_expired": (401, "Authentication failed"),
    "token_not_yet_valid": (401, "Authentication failed"),
    "missing_claim": (401, "Authentication failed"),
    "partner_mismatch": (401, "Authentication failed"),
    "not_found": (404, "Not found"),
    "workspace_not_found": (404, "Not found"),
    "user_not_found": (404, "Not found"),
    "delivery_not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "no_active_link": (409, "Conflict"),
    "clock_out_of_range": (409, "Clock out of range"),
    "payload_too_large": (413, "Payload too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "rate_limited": (429, "Too many requests"),
    "headers_too_large": (431, "Request header fields too large"),
    "internal_error": (500, "Internal server error"),
    "service_unavailable": (503, "Service unavailable"),
}

AUTH_REALM = "partner-api"


class Problem(Exception):
    """An error answered to the client; `code` picks its status and title from CODES."""

    def __init__(self, code: str, detail: str, *, headers: Mapping[str, str] | None = None):
        status, title = CODES[code]
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})

    @property
    def status_code(self) -> int:
        """connexion's security layer ranks errors by this attribute."""
        return self.status

    def to_dict(self) -> dict:
        return {
            "type": TYPE_PREFIX + self.code,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }

    def body(self) -> bytes:
        return json.dumps(self.to_dict()).encode()


class AuthProblem(Problem):
    """A 401 carrying the RFC 6750 Bearer challenge."""

    def __init__(self, code: str, detail: str):
        challenge = f'Bearer realm="{AUTH_REALM}"'
        if code != "missing_credentials":
            # RFC 6750 section 3: no error attribute when the request had no credentials.
            quoted = detail.replace("\\", "\\\\").replace('"', '\\"')
            challenge += f', error="invalid_token", error_description="{quoted}"'
        super().__init__(code, detail, headers={"WWW-Authenticate": challenge})

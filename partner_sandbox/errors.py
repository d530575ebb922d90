"""One error vocabulary: every error is a typed ApiError with a stable code, which picks its status.
The web layer renders it as the published `PartnerAPIError` envelope,
`{"error": <code>, "status": <HTTP status>, "description": <what is wrong>}` (web/errors.py)."""

from __future__ import annotations

from collections.abc import Mapping

# Every code the sandbox can answer with: code -> (status, published). `published` codes are the
# Partner API's own names; the others are the sandbox's, for cases the publication names nothing
# for. openapi.yaml and sandbox.yaml document each, and the README lists them all.
CODES: dict[str, tuple[int, bool]] = {
    "invalid_request": (400, True),
    "missing_header": (401, True),
    "partner_not_found": (401, True),
    "token_decode_error": (401, True),
    "invalid_signature": (401, True),
    "missing_claim": (401, True),
    "token_not_active": (401, True),
    "timestamp_out_of_range": (401, True),
    "partner_mismatch": (401, False),
    "invalid_credentials": (401, False),
    "partner_not_active": (403, True),
    "workspace_billing_managed": (403, True),
    "user_not_active": (403, True),
    "workspace_not_found": (404, True),
    "user_not_found": (404, True),
    "user_not_in_workspace": (404, True),
    "not_found": (404, False),
    "delivery_not_found": (404, False),
    "method_not_allowed": (405, True),
    "seats_full": (409, True),
    "workspace_creation_failed": (409, True),
    "no_active_link": (409, False),
    "clock_out_of_range": (409, False),
    "pairing_code_rejected": (409, False),
    "connection_failed": (409, False),
    "request_timeout": (408, False),
    "payload_too_large": (413, False),
    "unsupported_media_type": (415, False),
    "rate_limited": (429, False),
    "headers_too_large": (431, False),
    "internal_error": (500, False),
    "service_unavailable": (503, False),
}

# What each code means, in words, for a person reading the request journal (the control API's
# listRequests and the dashboard): the cause and what usually fixes it. Every code has one.
EXPLANATIONS: dict[str, str] = {
    "invalid_request": "The request does not match the operation's contract: a parameter, header or body field is"
                       " missing, of the wrong type or out of range. The description names the field.",
    "missing_header": "A credential is missing: send Authorization: Bearer <JWT> and X-TL-Partner-Id.",
    "partner_not_found": "X-TL-Partner-Id names no partner this sandbox knows: check the id against the fixtures.",
    "token_decode_error": "The Authorization value is not a usable HS256 JWT (malformed, another algorithm, or a"
                          " claim of the wrong type).",
    "invalid_signature": "The JWT was not signed with this partner's secret (or it is a webhook signature, which"
                         " never opens the API): sign it with the secret of the partner X-TL-Partner-Id names.",
    "missing_claim": "The JWT lacks a required claim: partner_id, nbf and exp are all required.",
    "token_not_active": "The JWT's nbf is in the future (more than 30 s of clock skew): check the client's clock.",
    "timestamp_out_of_range": "The JWT has expired (exp): mint a fresh token for each call or before it runs out.",
    "partner_mismatch": "The JWT's partner_id claim differs from X-TL-Partner-Id: the two must name the same partner.",
    "invalid_credentials": "No partner has this id and secret: check both against the fixtures.",
    "partner_not_active": "The partner is switched off: every call is refused until it is active again.",
    "workspace_billing_managed": "The workspace is billed directly, outside the partner program: the Partner API"
                                 " cannot act on it.",
    "user_not_active": "The user is suspended: a suspended user cannot connect WhatsApp.",
    "workspace_not_found": "No workspace of this partner has this id (another partner's workspace is not found"
                           " either).",
    "user_not_found": "No user of this partner has this id.",
    "user_not_in_workspace": "The user exists but belongs to another workspace than the one in the path.",
    "not_found": "No operation has this path: check the base path, the spelling, and that there is no final slash.",
    "delivery_not_found": "No webhook delivery of this partner has this id.",
    "method_not_allowed": "The path exists but does not take this HTTP method (the Allow header lists those it"
                          " takes).",
    "seats_full": "The workspace has no free seat for these users: raise seats_purchased first or create fewer.",
    "workspace_creation_failed": "The workspace could not be created, usually because its id is already taken.",
    "no_active_link": "The user has no active QR link: issue one with userRequestQRLink first.",
    "clock_out_of_range": "The test clock cannot be moved there: the sandbox's clock stays within its years.",
    "pairing_code_rejected": "The pairing code is not the one the user's link is showing now.",
    "connection_failed": "Connecting WhatsApp failed as the flow would: a forced failure (forceFailure) or a QR"
                         " image that rotated away.",
    "request_timeout": "The request's head or body stopped arriving for too long.",
    "payload_too_large": "The body is over the 64 KiB limit.",
    "unsupported_media_type": "The body is not sent as application/json (or its Content-Type is missing).",
    "rate_limited": "Too many requests for this partner: wait for Retry-After seconds, then retry.",
    "headers_too_large": "The request's headers are over the 32 KiB limit.",
    "internal_error": "The sandbox failed on its own: this is a bug in the sandbox, not in the request.",
    "service_unavailable": "The sandbox's database cannot be written right now: retry after Retry-After seconds.",
}


def explanation(code: str) -> str | None:
    """The code's meaning in words (None for a code this vocabulary does not hold)."""
    return EXPLANATIONS.get(code)


AUTH_REALM = "partner-api"


class ApiError(Exception):
    """An error answered to the client; `code` picks its status from CODES."""

    def __init__(self, code: str, description: str, *, headers: Mapping[str, str] | None = None,
                 fields: list[str] | None = None):
        status, _published = CODES[code]
        super().__init__(f"{code}: {description}")
        self.code = code
        self.status = status
        self.description = description
        self.headers = dict(headers or {})
        self.fields = fields  # the path of the field a schema check found at fault, when one did

    @property
    def status_code(self) -> int:
        """connexion's security layer ranks errors by this attribute."""
        return self.status

    def to_dict(self) -> dict:
        return {"error": self.code, "status": self.status, "description": self.description}



class AuthError(ApiError):
    """A 401 carrying the RFC 6750 Bearer challenge."""

    def __init__(self, code: str, description: str):
        challenge = f'Bearer realm="{AUTH_REALM}"'
        if code != "missing_header":
            # RFC 6750 section 3: no error attribute when the request had no credentials.
            quoted = description.replace("\\", "\\\\").replace('"', '\\"')
            challenge += f', error="invalid_token", error_description="{quoted}"'
        super().__init__(code, description, headers={"WWW-Authenticate": challenge})


# --- the Public API's own vocabulary (public_api.yaml) ----------------------------------------------
# Its errors are the published `ErrorResponse`, `{"status": "error", "message", "error_code",
# "errors"}`; web/errors.py renders them, and any other ApiError met on the Public API's paths, so.
PUBLIC_CODES: dict[str, int] = {
    "missing_credentials": 401,
    "invalid_token": 401,
    "permission_denied": 403,
    "validation_error": 400,
    "not_found": 404,
    "quota_exceeded": 429,
}
PUBLIC_AUTH_REALM = "public-api"
INVALID_TOKEN_MESSAGE = "Invalid or expired token"  # the published 401 body's message, whatever the cause
ACCESS_DENIED_MESSAGE = "Access denied"  # the published 403 body's message


class PublicApiError(ApiError):
    """An error of the Public API: `code` is the published `error_code`, which picks the status."""

    def __init__(self, error_code: str, message: str, *, headers: Mapping[str, str] | None = None):
        Exception.__init__(self, f"{error_code}: {message}")
        self.code = error_code
        self.status = PUBLIC_CODES[error_code]
        self.description = message
        self.headers = dict(headers or {})
        self.fields = None

    @classmethod
    def unauthorized(cls, error_code: str) -> PublicApiError:
        challenge = f'Bearer realm="{PUBLIC_AUTH_REALM}"'
        if error_code != "missing_credentials":
            challenge += ', error="invalid_token"'
        return cls(error_code, INVALID_TOKEN_MESSAGE, headers={"WWW-Authenticate": challenge})

    def to_dict(self) -> dict:
        return {"status": "error", "message": self.description, "error_code": self.code}

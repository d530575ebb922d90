"""The Public API's caller: the workspace a Public API token opens, refused when the workspace may not
use the API, and each authenticated call counted against the workspace's API-call quota of the
billing period (past it, refused). Read from the store on every call: a rotated token stops at once
on every worker and replica."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..errors import ACCESS_DENIED_MESSAGE, PublicApiError
from .clock import partner_now
from .links import token_digest
from .model import Member, WhatsAppAccount, WorkspaceState
from .ports import Accounts, Clocks, Events, Links, Members, PlanUse, Tokens, Workspaces
from .workspaces import current_usage, spend


class CallerTx(Workspaces, Members, Links, Accounts, Events, PlanUse, Tokens, Clocks, Protocol):
    pass


@dataclass(frozen=True)
class Caller:
    workspace_id: str
    partner_id: str


def bearer_token(authorization: str | None) -> str:
    """The token of `Authorization: Bearer <token>`; 401 `missing_credentials` without the header,
    401 `invalid_token` for anything else than one Bearer token."""
    if authorization is None or not authorization.strip():
        raise PublicApiError.unauthorized("missing_credentials")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise PublicApiError.unauthorized("invalid_token")
    return token


def token_workspace(tx: CallerTx, token: str) -> WorkspaceState:
    """The workspace the token currently opens; 401 for an unknown or rotated token."""
    workspace = tx.api_token_home(token_digest(token))
    if workspace is None:
        raise PublicApiError.unauthorized("invalid_token")
    return workspace


def authenticate_call(tx: CallerTx, *, token: str, real_now: datetime,
                      partner_active: Callable[[str], bool]) -> Caller:
    """The caller of one Public API call, counted: 401 for a token that opens nothing, 403 for a
    workspace billed directly or of a switched-off partner, 429 `quota_exceeded` once the period's
    API calls are used up (that call is not counted). The call that reaches 100% sends
    `workspace:quota_full:api_calls`, once a period, by the same rule as simulated use."""
    workspace = token_workspace(tx, token)
    workspace_id = workspace.id
    if workspace.billing_managed or not partner_active(workspace.partner_id):
        raise PublicApiError("permission_denied", ACCESS_DENIED_MESSAGE)
    now = partner_now(tx, workspace.partner_id, real_now)
    tx.lock_workspace(workspace_id)
    plan, usage = tx.partner_plan(workspace.partner_id), current_usage(tx, workspace_id, now)
    if usage.api_calls >= plan.api_calls:
        raise PublicApiError("quota_exceeded", f"The workspace's {plan.api_calls} Public API calls of the current"
                                               " billing period are used up")
    spend(tx, workspace.partner_id, workspace_id, now, api_calls=1, before=(plan, usage))
    return Caller(workspace_id, workspace.partner_id)


def workspace_accounts(tx: CallerTx, workspace_id: str) -> list[tuple[Member, WhatsAppAccount]]:
    """Every account the workspace's users have connected, with its user: what `GET /whatsapp_accounts`
    shows."""
    return tx.owned_accounts(workspace_id)

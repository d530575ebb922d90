"""The rules of the QR-link flow, as functions of a store transaction, a clock and a token source."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol

from .errors import Problem

TOKEN_BYTES = 32  # 256 random bits per link token
DEFAULT_EXPIRES_IN_HOURS = 24

Clock = Callable[[], datetime]
TokenSource = Callable[[], str]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def new_link_token() -> str:
    """An unguessable link token: 256 bits from `secrets`, base64url without padding."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """Links are stored by digest: the store never holds a usable link token."""
    return hashlib.sha256(token.encode()).hexdigest()


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class UserState:
    workspace_id: str
    user_id: int
    whatsapp_connected: bool


@dataclass(frozen=True)
class OpenLink:
    """A link the store still records as active; it may have expired since."""

    id: int
    expires_at: datetime


class Transaction(Protocol):
    """What the rules need from one atomic store transaction."""

    def workspace_owner(self, workspace_id: str) -> str | None: ...

    def user(self, workspace_id: str, user_id: int) -> UserState | None: ...

    def open_link(self, workspace_id: str, user_id: int) -> OpenLink | None: ...

    def close_link(self, link_id: int, status: str, at: datetime) -> None: ...

    def disconnect_whatsapp(self, workspace_id: str, user_id: int, at: datetime) -> None: ...

    def add_link(
        self, workspace_id: str, user_id: int, digest: str, issued_at: datetime, expires_at: datetime
    ) -> None: ...


@dataclass(frozen=True)
class IssuedLink:
    workspace_id: str
    user_id: int
    token: str
    expires_at: datetime
    whatsapp_disconnected: bool
    previous_qr_revoked: bool


def owned_user(tx: Transaction, partner_id: str, workspace_id: str, user_id: int) -> UserState:
    """The user, if the workspace is the partner's; otherwise the same 404 whoever owns it."""
    if tx.workspace_owner(workspace_id) != partner_id:
        raise Problem("workspace_not_found", f"Workspace '{workspace_id}' was not found")
    user = tx.user(workspace_id, user_id)
    if user is None:
        raise Problem("user_not_found", f"User {user_id} was not found in workspace '{workspace_id}'")
    return user


def issue_qr_link(
    tx: Transaction,
    *,
    partner_id: str,
    workspace_id: str,
    user_id: int,
    expires_in_hours: int,
    clock: Clock,
    new_token: TokenSource,
) -> IssuedLink:
    """Issue a link: revoke the user's active link, disconnect WhatsApp, record the new link."""
    user = owned_user(tx, partner_id, workspace_id, user_id)
    now = clock().astimezone(timezone.utc).replace(microsecond=0)

    previous_revoked = False
    previous = tx.open_link(workspace_id, user_id)
    if previous is not None:
        previous_revoked = now < previous.expires_at
        tx.close_link(previous.id, "revoked" if previous_revoked else "expired", now)

    if user.whatsapp_connected:
        tx.disconnect_whatsapp(workspace_id, user_id, now)

    token = new_token()
    expires_at = now + timedelta(hours=expires_in_hours)
    tx.add_link(workspace_id, user_id, token_digest(token), now, expires_at)
    return IssuedLink(
        workspace_id=workspace_id,
        user_id=user_id,
        token=token,
        expires_at=expires_at,
        whatsapp_disconnected=user.whatsapp_connected,
        previous_qr_revoked=previous_revoked,
    )

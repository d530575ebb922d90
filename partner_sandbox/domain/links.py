"""QR links: unguessable tokens stored by digest, issuing (one active link per user: the previous
is revoked and WhatsApp disconnected), and finding a link by its token."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, UTC
from typing import Protocol
from collections.abc import Callable

from .accounts import disconnect_account
from .clock import Clock
from .model import LinkRecord
from .ownership import Ownership, owned_user
from .ports import Accounts, Events, Links

TOKEN_BYTES = 32  # 256 random bits per link token
DEFAULT_EXPIRES_IN_HOURS = 24

TokenSource = Callable[[], str]


def new_link_token() -> str:
    """An unguessable link token: 256 bits from `secrets`, base64url without padding."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """Links are stored by digest: the store never holds a usable link token."""
    return hashlib.sha256(token.encode()).hexdigest()


class Issuing(Ownership, Links, Accounts, Events, Protocol):
    pass


@dataclass(frozen=True)
class IssuedLink:
    workspace_id: str
    user_id: int
    token: str
    expires_at: datetime
    whatsapp_disconnected: bool
    previous_qr_revoked: bool



def issue_qr_link(
    tx: Issuing,
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
    precise = clock().astimezone(UTC)  # the change's instant (events carry milliseconds)
    now = precise.replace(microsecond=0)  # links are issued and expire on whole seconds

    previous_revoked = False
    previous = tx.open_link(workspace_id, user_id)
    if previous is not None:
        previous_revoked = now < previous.expires_at
        tx.close_link(previous.id, "revoked" if previous_revoked else "expired", now)

    disconnected = disconnect_account(tx, partner_id, workspace_id, user_id, precise, "(a new QR link was issued)") \
        if user.whatsapp_connected else None

    token = new_token()
    expires_at = now + timedelta(hours=expires_in_hours)
    tx.add_link(workspace_id, user_id, token, now, expires_at)
    return IssuedLink(
        workspace_id=workspace_id,
        user_id=user_id,
        token=token,
        expires_at=expires_at,
        whatsapp_disconnected=disconnected is not None,
        previous_qr_revoked=previous_revoked,
    )


# --- the link's life after issuance: states, the simulated scan, the user's view -------------------


class LinkGone(Exception):
    """A link that exists but can no longer be scanned; `state` says why."""

    def __init__(self, link: LinkRecord, state: str):
        super().__init__(state)
        self.link = link
        self.state = state


def link_for_token(tx: Links, token: str) -> LinkRecord | None:
    return tx.link_by_digest(token_digest(token))

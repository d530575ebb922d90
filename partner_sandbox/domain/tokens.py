"""The rules of a workspace's Public API token: created on first read, the same until rotated, and a
rotation invalidates the previous token at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from typing import Protocol

from . import alerts
from .links import TokenSource, new_link_token, token_digest
from .ownership import Ownership, owned_workspace
from .ports import Events, Tokens, PlanUse


class TokenTx(Ownership, Tokens, Events, PlanUse, Protocol):
    pass


new_api_token = new_link_token  # the same unguessable tokens as links: 256 random bits, base64url


@dataclass(frozen=True)
class PublicToken:
    workspace_id: str
    token: str
    rotated_at: datetime | None = None


def current_token(tx: TokenTx, *, partner_id: str, workspace_id: str, now: datetime,
                  new_token: TokenSource = new_api_token) -> PublicToken:
    """The workspace's token; the first read creates it (two first reads at once get the same one)."""
    owned_workspace(tx, partner_id, workspace_id)
    token = tx.api_token(workspace_id)
    if token is None:
        token = tx.create_api_token(workspace_id, new_token(), now)
    return PublicToken(workspace_id, token)


def rotate_token(tx: TokenTx, *, partner_id: str, workspace_id: str, now: datetime,
                 new_token: TokenSource = new_api_token) -> PublicToken:
    """A new token in place of the current one (there may be none yet); the previous stops at once."""
    owned_workspace(tx, partner_id, workspace_id)
    token = new_token()
    tx.replace_api_token(workspace_id, token, now)
    alerts.token_rotated(tx, partner_id, workspace_id, now)
    return PublicToken(workspace_id, token, now)


def token_workspace(tx: TokenTx, *, partner_id: str, token: str) -> str | None:
    """The caller's workspace a token currently opens, or None (unknown, rotated, or not theirs)."""
    workspace_id = tx.api_token_workspace(token_digest(token))
    if workspace_id is None:
        return None
    workspace = tx.workspace(workspace_id)
    return workspace_id if workspace is not None and workspace.partner_id == partner_id else None

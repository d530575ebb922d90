"""Which workspace and user a partner may act on: its own, managed through the Partner API."""

from __future__ import annotations

from typing import Protocol

from ..errors import ApiError
from .model import USER_ACTIVE, UserState, WorkspaceState
from .ports import Members, Workspaces


class Ownership(Workspaces, Members, Protocol):
    pass


def owned_workspace(tx: Ownership, partner_id: str, workspace_id: str) -> WorkspaceState:
    """The workspace, if it is the partner's and the Partner API may manage it. Another partner's
    workspace is the same 404 as a missing one: its existence is not the caller's to learn."""
    workspace = tx.workspace(workspace_id)
    if workspace is None or workspace.partner_id != partner_id:
        raise ApiError("workspace_not_found", f"Workspace '{workspace_id}' was not found")
    if workspace.billing_managed:
        raise ApiError("workspace_billing_managed",
                       f"Workspace '{workspace_id}' is billed directly and cannot be managed through the Partner API")
    return workspace


def owned_user(tx: Ownership, partner_id: str, workspace_id: str, user_id: int, *,
               active: bool = True) -> UserState:
    """The user of one of the partner's workspaces (locked, where the store locks rows). User ids
    are unique across the service: a user of another of the partner's workspaces is
    `user_not_in_workspace`; one of another partner's, or none, is `user_not_found`. With `active`,
    a suspended user is refused."""
    owned_workspace(tx, partner_id, workspace_id)
    user = tx.user(workspace_id, user_id)
    if user is None:
        home = tx.user_home(user_id)
        if home is not None and home.partner_id == partner_id:
            raise ApiError("user_not_in_workspace", f"User {user_id} is not a member of workspace '{workspace_id}'")
        raise ApiError("user_not_found", f"User {user_id} was not found")
    if active and user.status != USER_ACTIVE:
        raise ApiError("user_not_active", f"User {user_id} is {user.status}")
    return user


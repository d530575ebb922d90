"""What the rules need from one atomic store transaction, one small port per resource. A rule asks
for the ports it uses (a Protocol made of them); the store's transaction provides them all, and
mypy checks that it does wherever one is passed to a rule."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from .model import (
    ClockState,
    Flow,
    LinkRecord,
    Member,
    OpenLink,
    Plan,
    SentMessage,
    UserState,
    WhatsAppAccount,
    Workspace,
    WorkspaceState,
)

JsonObject = dict[str, Any]


class Workspaces(Protocol):
    def workspace(self, workspace_id: str) -> WorkspaceState | None: ...

    def user_home(self, user_id: int) -> WorkspaceState | None: ...

    def partner_workspaces(self, partner_id: str, limit: int) -> list[str]: ...

    def lock_workspace(self, workspace_id: str) -> None: ...

    def partner_plan(self, partner_id: str) -> Plan: ...

    def next_ids(self, name: str, count: int) -> int: ...

    def add_workspace(self, workspace_id: str, partner_id: str, display_name: str, seats: int, plan: Plan,
                      group_id: int, at: datetime) -> bool: ...

    def update_workspace(self, workspace_id: str, display_name: str | None, seats: int | None,
                         at: datetime) -> None: ...

    def workspace_record(self, workspace_id: str) -> Workspace: ...


class Members(Protocol):
    def user(self, workspace_id: str, user_id: int) -> UserState | None: ...

    def add_members(self, workspace_id: str, members: list[Member]) -> None: ...

    def members(self, workspace_id: str, limit: int | None = None) -> list[Member]: ...

    def member_count(self, workspace_id: str) -> int: ...

    def set_user_status(self, workspace_id: str, user_id: int, status: str) -> None: ...


class Links(Protocol):
    def open_link(self, workspace_id: str, user_id: int) -> OpenLink | None: ...

    def close_link(self, link_id: int, status: str, at: datetime) -> None: ...

    def add_link(self, workspace_id: str, user_id: int, token: str, issued_at: datetime,
                 expires_at: datetime) -> None: ...

    def links(self, workspace_id: str, user_id: int, limit: int) -> list[LinkRecord]: ...

    def link_by_digest(self, digest: str) -> LinkRecord | None: ...

    def open_links(self, workspace_id: str, through: int | None = None) -> list[tuple[int, str, datetime]]: ...


class Accounts(Protocol):
    def account(self, workspace_id: str, user_id: int) -> WhatsAppAccount | None: ...

    def accounts(self, workspace_id: str, through: int | None = None) -> list[tuple[int, WhatsAppAccount]]: ...

    def owned_accounts(self, workspace_id: str) -> list[tuple[Member, WhatsAppAccount]]: ...

    def connect_whatsapp(self, workspace_id: str, user_id: int, account: WhatsAppAccount, at: datetime) -> None: ...

    def disconnect_whatsapp(self, workspace_id: str, user_id: int, at: datetime) -> None: ...


class Flows(Protocol):
    """A link page's pairing flow, and the failure forced on a user's next pairing step."""

    def link_flow(self, link_id: int) -> Flow: ...

    def save_link_flow(self, link_id: int, flow: Flow) -> None: ...

    def next_failure(self, workspace_id: str, user_id: int) -> str | None: ...

    def set_next_failure(self, workspace_id: str, user_id: int, cause: str | None) -> None: ...


class Events(Protocol):
    """The webhook outbox, written in the transaction of the change an event tells of."""

    def add_event(self, partner_id: str, workspace_id: str, user_id: int | None, body: JsonObject,
                  at: datetime) -> None: ...


class PlanUse(Protocol):
    """A workspace's use of its plan in the current billing period, and the alerts sent in it."""

    def usage(self, workspace_id: str) -> tuple[datetime | None, int, int, int, datetime | None]: ...

    def set_usage(self, workspace_id: str, period: datetime, messages: int, api_calls: int, balance: int,
                  balance_updated: datetime | None) -> None: ...

    def fired_alerts(self, workspace_id: str, period: datetime) -> set[str]: ...

    def set_fired_alerts(self, workspace_id: str, period: datetime, alerts: set[str]) -> None: ...


class Tokens(Protocol):
    """Workspaces' Public API tokens."""

    def api_token(self, workspace_id: str) -> str | None: ...

    def create_api_token(self, workspace_id: str, token: str, at: datetime) -> str: ...

    def replace_api_token(self, workspace_id: str, token: str, at: datetime) -> None: ...

    def api_token_workspace(self, digest: str) -> str | None: ...

    def api_token_home(self, digest: str) -> WorkspaceState | None: ...


class Clocks(Protocol):
    """Each partner's test clock."""

    def clock_state(self, partner_id: str) -> ClockState: ...

    def set_clock_state(self, partner_id: str, state: ClockState) -> None: ...


class Origins(Protocol):
    """The origins that may frame a partner's QR pages."""

    def embedding_origins(self, partner_id: str) -> list[str]: ...

    def set_embedding_origins(self, partner_id: str, origins: list[str]) -> None: ...


class Messages(Protocol):
    """The messages workspaces sent through the Public API."""

    def add_message(self, message: SentMessage) -> None: ...

    def message(self, workspace_id: str, uid: str) -> SentMessage | None: ...

    def messages(self, workspace_id: str, limit: int) -> list[SentMessage]: ...

"""The rules of the QR-link flow, as functions of a store transaction, a clock and a token source."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable, Protocol

from .errors import ApiError

if TYPE_CHECKING:
    from .fixtures import PartnerFixture

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


USER_ACTIVE = "active"
USER_SUSPENDED = "suspended"


@dataclass(frozen=True)
class WorkspaceState:
    id: str
    partner_id: str
    billing_managed: bool


@dataclass(frozen=True)
class UserState:
    workspace_id: str
    user_id: int
    whatsapp_connected: bool
    status: str = USER_ACTIVE


@dataclass(frozen=True)
class OpenLink:
    """A link the store still records as active; it may have expired since."""

    id: int
    expires_at: datetime


class Transaction(Protocol):
    """What the rules need from one atomic store transaction."""

    def workspace(self, workspace_id: str) -> WorkspaceState | None: ...

    def user(self, workspace_id: str, user_id: int) -> UserState | None: ...

    def user_home(self, user_id: int) -> WorkspaceState | None: ...

    def open_link(self, workspace_id: str, user_id: int) -> OpenLink | None: ...

    def close_link(self, link_id: int, status: str, at: datetime) -> None: ...

    def disconnect_whatsapp(self, workspace_id: str, user_id: int, at: datetime) -> None: ...

    def add_link(
        self, workspace_id: str, user_id: int, token: str, issued_at: datetime, expires_at: datetime
    ) -> None: ...

    def connect_whatsapp(self, workspace_id: str, user_id: int, account: "WhatsAppAccount", at: datetime) -> None: ...

    def account(self, workspace_id: str, user_id: int) -> "WhatsAppAccount | None": ...

    def links(self, workspace_id: str, user_id: int, limit: int) -> list["LinkRecord"]: ...

    def link_by_digest(self, digest: str) -> "LinkRecord | None": ...

    def clock_state(self, partner_id: str) -> "ClockState": ...

    def set_clock_state(self, partner_id: str, state: "ClockState") -> None: ...

    def reset_partner(self, partner: "PartnerFixture", now: datetime) -> None: ...

    def add_journal_entry(self, partner_id: str, entry: dict) -> None: ...

    def journal(self, partner_id: str, limit: int) -> list[dict]: ...

    def add_event(self, partner_id: str, workspace_id: str, user_id: int | None, body: dict) -> None: ...

    def api_token(self, workspace_id: str) -> str | None: ...

    def create_api_token(self, workspace_id: str, token: str, at: datetime) -> str: ...

    def replace_api_token(self, workspace_id: str, token: str, at: datetime) -> None: ...

    def api_token_workspace(self, digest: str) -> str | None: ...

    # the pairing flow of a link's page, failures forced on it, the pages allowed to embed it (pairing.py)

    def link_flow(self, link_id: int): ...

    def save_link_flow(self, link_id: int, flow) -> None: ...

    def next_failure(self, workspace_id: str, user_id: int) -> str | None: ...

    def set_next_failure(self, workspace_id: str, user_id: int, cause: str | None) -> None: ...

    def embedding_origins(self, partner_id: str) -> list[str]: ...

    def set_embedding_origins(self, partner_id: str, origins: list[str]) -> None: ...

    def fired_alerts(self, workspace_id: str, period: datetime) -> set[str]: ...

    def set_fired_alerts(self, workspace_id: str, period: datetime, alerts: set[str]) -> None: ...

    # workspaces, their members and use (workspaces.py)

    def next_ids(self, name: str, count: int) -> int: ...

    def partner_plan(self, partner_id: str): ...

    def lock_workspace(self, workspace_id: str) -> None: ...

    def add_workspace(self, workspace_id: str, partner_id: str, display_name: str, seats: int, plan,
                      group_id: int, at: datetime) -> bool: ...

    def update_workspace(self, workspace_id: str, display_name: str | None, seats: int | None, at: datetime) -> None: ...

    def workspace_record(self, workspace_id: str): ...

    def add_members(self, workspace_id: str, members: list) -> None: ...

    def members(self, workspace_id: str) -> list: ...

    def set_user_status(self, workspace_id: str, user_id: int, status: str) -> None: ...

    def accounts(self, workspace_id: str) -> list: ...

    def open_links(self, workspace_id: str) -> list: ...

    def usage(self, workspace_id: str) -> tuple: ...

    def set_usage(self, workspace_id: str, period: datetime, messages: int, api_calls: int, balance: int,
                  balance_updated: datetime | None) -> None: ...


@dataclass(frozen=True)
class IssuedLink:
    workspace_id: str
    user_id: int
    token: str
    expires_at: datetime
    whatsapp_disconnected: bool
    previous_qr_revoked: bool


def owned_workspace(tx: Transaction, partner_id: str, workspace_id: str) -> WorkspaceState:
    """The workspace, if it is the partner's and the Partner API may manage it. Another partner's
    workspace is the same 404 as a missing one: its existence is not the caller's to learn."""
    workspace = tx.workspace(workspace_id)
    if workspace is None or workspace.partner_id != partner_id:
        raise ApiError("workspace_not_found", f"Workspace '{workspace_id}' was not found")
    if workspace.billing_managed:
        raise ApiError("workspace_billing_managed",
                       f"Workspace '{workspace_id}' is billed directly and cannot be managed through the Partner API")
    return workspace


def owned_user(tx: Transaction, partner_id: str, workspace_id: str, user_id: int, *,
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
    precise = clock().astimezone(timezone.utc)  # the change's instant (events carry milliseconds)
    now = precise.replace(microsecond=0)  # links are issued and expire on whole seconds

    previous_revoked = False
    previous = tx.open_link(workspace_id, user_id)
    if previous is not None:
        previous_revoked = now < previous.expires_at
        tx.close_link(previous.id, "revoked" if previous_revoked else "expired", now)

    if user.whatsapp_connected:
        account = tx.account(workspace_id, user_id)
        tx.disconnect_whatsapp(workspace_id, user_id, precise)
        tx.add_event(partner_id, workspace_id, user_id, account_event(
            DISCONNECTED, partner_id, workspace_id, user_id, account, precise, "(a new QR link was issued)"))

    token = new_token()
    expires_at = now + timedelta(hours=expires_in_hours)
    tx.add_link(workspace_id, user_id, token, now, expires_at)
    return IssuedLink(
        workspace_id=workspace_id,
        user_id=user_id,
        token=token,
        expires_at=expires_at,
        whatsapp_disconnected=user.whatsapp_connected,
        previous_qr_revoked=previous_revoked,
    )


# --- the link's life after issuance: states, the simulated scan, the user's view -------------------

LINK_HISTORY_LIMIT = 100


@dataclass(frozen=True)
class LinkRecord:
    """A link as stored: `status` is what the store recorded; `state(now)` is what it is."""

    id: int
    workspace_id: str
    user_id: int
    partner_id: str
    status: str
    issued_at: datetime
    expires_at: datetime
    closed_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.status == "active" and now >= self.expires_at:
            return "expired"
        return self.status


@dataclass(frozen=True)
class WhatsAppAccount:
    account_id: int
    phone_number_e164: str
    connected_at: datetime | None = None
    disconnected_at: datetime | None = None

    @property
    def connected(self) -> bool:
        return self.connected_at is not None


def fake_account(workspace_id: str, user_id: int) -> WhatsAppAccount:
    """The same fake WhatsApp account for a user every time: derived from workspace and user."""
    seed = int.from_bytes(hashlib.sha256(f"{workspace_id}/{user_id}".encode()).digest()[:8], "big")
    return WhatsAppAccount(account_id=100_000_000 + seed % 900_000_000, phone_number_e164=f"+1555{seed % 10**7:07d}")


def phone_account(phone: str) -> WhatsAppAccount:
    """The fake account of a phone number (an account connected with a pairing code)."""
    seed = int.from_bytes(hashlib.sha256(phone.encode()).digest()[:8], "big")
    return WhatsAppAccount(account_id=100_000_000 + seed % 900_000_000, phone_number_e164=phone)


def connect_link(tx: Transaction, link: LinkRecord, now: datetime, *, phone: str | None = None,
                 reason: str = "(QR code scanned)") -> WhatsAppAccount:
    """The link is used and an account connects: the user's own (or its fake one) after a scan, the
    phone number's after a pairing code. The partner's webhook is told."""
    account = tx.account(link.workspace_id, link.user_id) or fake_account(link.workspace_id, link.user_id)
    if phone is not None and phone != account.phone_number_e164:
        account = phone_account(phone)
    tx.close_link(link.id, "used", now)
    tx.connect_whatsapp(link.workspace_id, link.user_id, account, now)
    tx.add_event(link.partner_id, link.workspace_id, link.user_id, account_event(
        CONNECTED, link.partner_id, link.workspace_id, link.user_id, account, now, reason))
    return WhatsAppAccount(account.account_id, account.phone_number_e164, now, None)


# --- partner webhook events -------------------------------------------------------------------

CONNECTED = "whatsapp_account:connected"
DISCONNECTED = "whatsapp_account:disconnected"


def event_time(moment: datetime) -> str:
    """Webhook times: milliseconds, UTC, `Z`."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def account_event(event_type: str, partner_id: str, workspace_id: str, user_id: int,
                  account: "WhatsAppAccount", at: datetime, reason: str) -> dict:
    """The body of a whatsapp_account:* webhook, with the same ids and number the control API shows.
    Only the published fields: a disconnection says `disconnected_at`; a connection's instant is its
    `triggered_at` (the published schema has no `connected_at`)."""
    body = {
        "workspace_id": workspace_id,
        "event_type": event_type,
        "partner_id": partner_id,
        "triggered_at": event_time(at),
        "whatsapp_account_id": account.account_id,
        "phone_number_e164": account.phone_number_e164,
        "user_id": user_id,
    }
    if event_type == DISCONNECTED:
        body["disconnected_at"] = event_time(at)
    return {**body, "reason": reason}


class LinkGone(Exception):
    """A link that exists but can no longer be scanned; `state` says why."""

    def __init__(self, link: LinkRecord, state: str):
        super().__init__(state)
        self.link = link
        self.state = state


def link_for_token(tx: Transaction, token: str) -> LinkRecord | None:
    return tx.link_by_digest(token_digest(token))


@dataclass(frozen=True)
class UserView:
    workspace_id: str
    user_id: int
    now: datetime
    account: WhatsAppAccount | None
    links: list[LinkRecord]
    status: str = USER_ACTIVE
    next_failure: str | None = None  # a failure forced on the user's next pairing step

    @property
    def active_link(self) -> LinkRecord | None:
        return next((l for l in self.links if l.state(self.now) == "active"), None)


def user_view(tx: Transaction, *, partner_id: str, workspace_id: str, user_id: int, now: datetime) -> UserView:
    user = owned_user(tx, partner_id, workspace_id, user_id, active=False)
    return UserView(workspace_id, user_id, now, tx.account(workspace_id, user_id),
                    tx.links(workspace_id, user_id, LINK_HISTORY_LIMIT), user.status,
                    tx.next_failure(workspace_id, user_id))


# --- disconnecting an account through the Partner API ------------------------------------------

@dataclass(frozen=True)
class Disconnection:
    workspace_id: str
    user_id: int
    account: WhatsAppAccount | None  # the account disconnected; None when nothing was connected
    at: datetime


def disconnect_whatsapp(tx: Transaction, *, partner_id: str, workspace_id: str, user_id: int,
                        now: datetime) -> Disconnection:
    """Disconnect the user's connected account (and tell the partner's webhook); a no-op when none is.
    Allowed for a suspended user too: disconnecting is how a partner stops billing."""
    user = owned_user(tx, partner_id, workspace_id, user_id, active=False)
    if not user.whatsapp_connected:
        return Disconnection(workspace_id, user_id, None, now)
    account = tx.account(workspace_id, user_id)
    tx.disconnect_whatsapp(workspace_id, user_id, now)
    tx.add_event(partner_id, workspace_id, user_id, account_event(
        DISCONNECTED, partner_id, workspace_id, user_id, account, now, "(disconnected through the Partner API)"))
    return Disconnection(workspace_id, user_id, account, now)


# --- the per-partner test clock -----------------------------------------------------------------

CLOCK_MIN = datetime(1970, 1, 1, tzinfo=timezone.utc)
CLOCK_MAX = datetime(9000, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class ClockState:
    """A partner's clock: real time shifted by `offset`, or stopped at `frozen_at`."""

    offset: timedelta = timedelta(0)
    frozen_at: datetime | None = None

    def now(self, real_now: datetime) -> datetime:
        return self.frozen_at if self.frozen_at is not None else real_now + self.offset


REAL_CLOCK = ClockState()


def partner_now(tx: Transaction, partner_id: str, real_now: datetime) -> datetime:
    return tx.clock_state(partner_id).now(real_now)


def _checked(state: ClockState, real_now: datetime) -> ClockState:
    now = state.now(real_now)
    if not CLOCK_MIN <= now < CLOCK_MAX:
        raise ApiError(
            "clock_out_of_range", f"The clock would read {now.isoformat()}; it must stay within 1970-01-01..9000-01-01"
        )
    return state


def change_clock(state: ClockState, command: dict, real_now: datetime) -> ClockState:
    """Apply one clock command: advance_seconds, set, freeze or real (the spec allows exactly one)."""
    current = state.now(real_now)
    if "advance_seconds" in command:
        step = timedelta(seconds=command["advance_seconds"])
        if state.frozen_at is not None:
            return _checked(ClockState(state.offset, state.frozen_at + step), real_now)
        return _checked(ClockState(state.offset + step, None), real_now)
    if "set" in command:
        try:
            target = datetime.fromisoformat(command["set"]).astimezone(timezone.utc)
        except ValueError:
            raise ApiError("invalid_request", f"set: {command['set']!r} is not an RFC 3339 instant") from None
        if state.frozen_at is not None:
            return _checked(ClockState(state.offset, target), real_now)
        return _checked(ClockState(target - real_now, None), real_now)
    if "freeze" in command:
        if command["freeze"]:
            return ClockState(state.offset, current)
        return ClockState(current - real_now, None)
    return REAL_CLOCK

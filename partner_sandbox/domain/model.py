"""The records the rules and the stores exchange: plain frozen values, no behaviour beyond what
a record says about itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

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
    last_connected_at: datetime | None = None  # kept after a disconnection (the Public API shows it)

    @property
    def connected(self) -> bool:
        return self.connected_at is not None


@dataclass(frozen=True)
class Plan:
    """A partner's plan (the fixtures give it; these are its defaults)."""

    id: int = 1
    messages: int = 1000  # messages a billing period
    api_calls: int = 10_000  # Public API calls a billing period
    non_recurring: int = 0  # a new workspace's non-recurring balance


@dataclass(frozen=True)
class Member:
    user_id: int
    display_name: str
    role: str
    email: str
    status: str
    created_at: datetime


@dataclass(frozen=True)
class Workspace:
    id: str
    partner_id: str
    display_name: str
    plan_id: int
    seats_purchased: int
    seats_used: int
    group_id: int
    created_at: datetime
    updated_at: datetime
    owner_user_id: int | None
    suspended: tuple[Suspension, ...] = ()

    @property
    def seats_available(self) -> int:
        return max(0, self.seats_purchased - self.seats_used)


@dataclass(frozen=True)
class Suspension:
    user_id: int
    whatsapp_account_id: int | None
    phone_numbers: tuple[str, ...]


@dataclass(frozen=True)
class Usage:
    """A workspace's use of its plan in the billing period [period_start, period_end)."""

    period_start: datetime
    period_end: datetime
    messages: int
    api_calls: int
    non_recurring_balance: int
    non_recurring_updated_at: datetime | None


@dataclass(frozen=True)
class Flow:
    """A link's pairing flow as stored."""

    qr_started_at: datetime | None = None
    qr_secret: str | None = None
    pairing_code: str | None = None
    pairing_phone: str | None = None
    pairing_expires_at: datetime | None = None
    error_seq: int = 0  # counts the errors; the page tells a new one by it
    error: str | None = None

    def next_step(self, **step: Any) -> Flow:
        """A new step (a QR flow, a pairing code) in place of the current one; the last error stays."""
        return Flow(error_seq=self.error_seq, error=self.error, **step)

    def failed(self, message: str) -> Flow:
        """The flow stops (no QR, no pairing code) with a new error."""
        return Flow(error_seq=self.error_seq + 1, error=message)


@dataclass(frozen=True)
class ClockState:
    """A partner's clock: real time shifted by `offset`, or stopped at `frozen_at`."""

    offset: timedelta = timedelta(0)
    frozen_at: datetime | None = None

    def now(self, real_now: datetime) -> datetime:
        return self.frozen_at if self.frozen_at is not None else real_now + self.offset


REAL_CLOCK = ClockState()


# --- the webhook outbox -----------------------------------------------------------------------

@dataclass(frozen=True)
class OutboxEvent:
    """An event claimed for one delivery attempt."""

    row: int
    event_id: str
    partner_id: str
    body: str  # the JSON body, as it is signed and sent
    round_attempts: int


@dataclass(frozen=True)
class DeliveryAttempt:
    at: datetime
    status_code: int | None
    error: str | None
    latency_ms: float
    signed: bool = False  # a signed request went out (its signature minted at `at`, in whole seconds)


@dataclass(frozen=True)
class Delivery:
    """An event of the outbox and its attempts, as the control API shows them."""

    id: int
    event_id: str
    body: dict[str, Any]
    status: str
    next_attempt_at: datetime  # the epoch for an event due at once (a redelivered one)
    created_at: datetime
    attempts: list[DeliveryAttempt] = field(default_factory=list)


# --- messages sent through the Public API ------------------------------------------------------

@dataclass(frozen=True)
class SentMessage:
    """A message a workspace sent through the Public API (nothing really leaves the sandbox)."""

    uid: str
    workspace_id: str
    user_id: int  # whose account sent it
    sender_phone: str
    sender_name: str
    recipient_phone: str
    text: str | None
    file_uid: str | None
    attachment_template_id: int | None
    label: str | None
    credits: int
    created_at: datetime

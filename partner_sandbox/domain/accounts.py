"""WhatsApp accounts: the fake account a scan connects, connecting a used link, a user's view of
its account and links, disconnecting, and the whatsapp_account:* webhook bodies."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .clock import event_time
from .model import USER_ACTIVE, LinkRecord, WhatsAppAccount
from .ownership import Ownership, owned_user
from .ports import Accounts, Events, Flows, JsonObject, Links

CONNECTED = "whatsapp_account:connected"
DISCONNECTED = "whatsapp_account:disconnected"
LINK_HISTORY_LIMIT = 100


class Connecting(Links, Accounts, Events, Protocol):
    pass


class AccountsOfOwned(Ownership, Accounts, Events, Protocol):
    pass


class Viewing(Ownership, Accounts, Links, Flows, Protocol):
    pass


def fake_account(workspace_id: str, user_id: int) -> WhatsAppAccount:
    """The same fake WhatsApp account for a user every time: derived from workspace and user."""
    seed = int.from_bytes(hashlib.sha256(f"{workspace_id}/{user_id}".encode()).digest()[:8], "big")
    return WhatsAppAccount(account_id=100_000_000 + seed % 900_000_000, phone_number_e164=f"+1555{seed % 10**7:07d}")


def phone_account(phone: str) -> WhatsAppAccount:
    """The fake account of a phone number (an account connected with a pairing code)."""
    seed = int.from_bytes(hashlib.sha256(phone.encode()).digest()[:8], "big")
    return WhatsAppAccount(account_id=100_000_000 + seed % 900_000_000, phone_number_e164=phone)


def connect_link(tx: Connecting, link: LinkRecord, now: datetime, *, phone: str | None = None,
                 reason: str = "(QR code scanned)") -> WhatsAppAccount:
    """The link is used and an account connects: the user's own (or its fake one) after a scan, the
    phone number's after a pairing code. The partner's webhook is told."""
    account = tx.account(link.workspace_id, link.user_id) or fake_account(link.workspace_id, link.user_id)
    if phone is not None and phone != account.phone_number_e164:
        account = phone_account(phone)
    tx.close_link(link.id, "used", now)
    tx.connect_whatsapp(link.workspace_id, link.user_id, account, now)
    tx.add_event(link.partner_id, link.workspace_id, link.user_id, account_event(
        CONNECTED, link.partner_id, link.workspace_id, link.user_id, account, now, reason), now)
    return WhatsAppAccount(account.account_id, account.phone_number_e164, now, None)


# --- partner webhook events -------------------------------------------------------------------


def account_event(event_type: str, partner_id: str, workspace_id: str, user_id: int,
                  account: WhatsAppAccount, at: datetime, reason: str) -> JsonObject:
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
        return next((link for link in self.links if link.state(self.now) == "active"), None)


def user_view(tx: Viewing, *, partner_id: str, workspace_id: str, user_id: int, now: datetime) -> UserView:
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


def disconnect_whatsapp(tx: AccountsOfOwned, *, partner_id: str, workspace_id: str, user_id: int,
                        now: datetime) -> Disconnection:
    """Disconnect the user's connected account (and tell the partner's webhook); a no-op when none is.
    Allowed for a suspended user too: disconnecting is how a partner stops billing."""
    owned_user(tx, partner_id, workspace_id, user_id, active=False)
    account = disconnect_account(tx, partner_id, workspace_id, user_id, now, "(disconnected through the Partner API)")
    return Disconnection(workspace_id, user_id, account, now)


class Disconnecting(Accounts, Events, Protocol):
    pass


def disconnect_account(tx: Disconnecting, partner_id: str, workspace_id: str, user_id: int, at: datetime,
                       reason: str) -> WhatsAppAccount | None:
    """Disconnect the user's account if one is connected, and tell the partner's webhook why: the
    account disconnected, or None."""
    account = tx.account(workspace_id, user_id)
    if account is None or not account.connected:
        return None
    tx.disconnect_whatsapp(workspace_id, user_id, at)
    tx.add_event(partner_id, workspace_id, user_id,
                 account_event(DISCONNECTED, partner_id, workspace_id, user_id, account, at, reason), at)
    return account

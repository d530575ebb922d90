"""Messages sent through the Public API: from which connected account, what they cost against the
messaging quota, and the statuses they move through on the partner's test clock. Nothing is sent
anywhere: a message is recorded, for the Public API to answer and the control API to list."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from ..errors import PublicApiError
from .model import SentMessage, WhatsAppAccount
from .ownership import Ownership, owned_workspace
from .ports import Accounts, Events, Links, Members, Messages, PlanUse, Workspaces
from .workspaces import current_usage, spend


__all__ = ["SentMessage", "find_message", "send_message", "sent_messages", "status_history"]


class MessagingTx(Workspaces, Members, Links, Accounts, Events, PlanUse, Messages, Protocol):
    pass


TEXT_CREDITS = 1  # a message without an attachment
ATTACHMENT_CREDITS = 2  # a message with one
SENT, DELIVERED = "Sent", "Delivered"
DELIVERED_AFTER = timedelta(seconds=1)  # on the partner's clock
LIST_LIMIT = 1000
_PHONE_PUNCTUATION = re.compile(r"[\s().\-]")
_PHONE = re.compile(r"\+?[0-9]{7,15}")


def normalized_phone(value: str) -> str | None:
    """A phone number as `+` and its digits (spaces, dots, dashes and parentheses dropped), or None
    when it is not 7 to 15 digits after an optional `+`."""
    compact = _PHONE_PUNCTUATION.sub("", value)
    if not _PHONE.fullmatch(compact):
        return None
    return "+" + compact.lstrip("+")


def _invalid(message: str) -> PublicApiError:
    return PublicApiError("validation_error", message)


def _sender(tx: MessagingTx, workspace_id: str, named: str | None) -> tuple[int, WhatsAppAccount]:
    """The connected account that sends: the one whose phone is `named`, else the one connected
    most recently (the higher user id on a tie); 404 when there is none."""
    connected = [(user_id, acc) for user_id, acc in tx.accounts(workspace_id) if acc.connected]
    if named is not None:
        phone = normalized_phone(named)
        match = [(u, a) for u, a in connected if phone is not None and a.phone_number_e164 == phone]
        if not match:
            raise PublicApiError("not_found", f"whatsapp_account_phone: {named!r} is not a connected WhatsApp"
                                              " account of this workspace")
        return match[0]
    if not connected:
        raise PublicApiError("not_found", "The workspace has no connected WhatsApp account to send from")
    return max(connected, key=lambda item: (item[1].connected_at, item[0]))


def send_message(tx: MessagingTx, *, partner_id: str, workspace_id: str, body: dict[str, Any], now: datetime,
                 new_uid: Callable[[], str] = lambda: str(uuid.uuid4())) -> SentMessage:
    """Record a message to `body["phone"]` and spend its credits; the quota events it reaches are
    sent by the rule simulated use goes through (workspaces.spend)."""
    for name, value in body.items():
        if isinstance(value, str) and "\x00" in value:
            raise _invalid(f"{name}: a string may not hold the NUL character")
    recipient = normalized_phone(body["phone"])
    if recipient is None:
        raise _invalid(f"phone: {body['phone']!r} is not a phone number in international format")
    text = body.get("text") or None
    has_attachment = body.get("file_uid") is not None or body.get("attachment_template_id") is not None
    if text is None and not has_attachment:
        raise _invalid("A message needs text, an attachment (file_uid, attachment_template_id) or both")
    user_id, account = _sender(tx, workspace_id, body.get("whatsapp_account_phone"))
    credits = ATTACHMENT_CREDITS if has_attachment else TEXT_CREDITS
    tx.lock_workspace(workspace_id)
    plan, usage = tx.partner_plan(partner_id), current_usage(tx, workspace_id, now)
    total, used = plan.messages, usage.messages
    if used + credits > total:
        raise PublicApiError("quota_exceeded", f"The messaging quota of the current billing period is used up"
                                               f" ({used} of {total} credits used; this message needs {credits})")
    sender_name = next((m.display_name for m in tx.members(workspace_id) if m.user_id == user_id), "")
    message = SentMessage(new_uid(), workspace_id, user_id, account.phone_number_e164, sender_name, recipient, text,
                          body.get("file_uid"), body.get("attachment_template_id"), body.get("label"), credits, now)
    tx.add_message(message)
    spend(tx, partner_id, workspace_id, now, messages=credits, before=(plan, usage))
    return message


def find_message(tx: MessagingTx, *, workspace_id: str, uid: str) -> SentMessage:
    message = tx.message(workspace_id, uid)
    if message is None:
        raise PublicApiError("not_found", f"No message with the uid {uid!r} in this workspace")
    return message


def status_history(message: SentMessage, now: datetime) -> list[tuple[str, datetime]]:
    """The statuses reached by `now`: sent when accepted, delivered a second later."""
    history = [(SENT, message.created_at)]
    delivered = message.created_at + DELIVERED_AFTER
    if now >= delivered:
        history.append((DELIVERED, delivered))
    return history


def chat_id(message: SentMessage) -> int:
    """The chat of the sending account with the recipient, stable for the pair."""
    key = f"{message.workspace_id}/{message.sender_phone}/{message.recipient_phone}".encode()
    return 1_000_000 + int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % 1_000_000_000


class SentListing(Ownership, Messages, Protocol):
    pass


def sent_messages(tx: SentListing, *, partner_id: str, workspace_id: str, now: datetime,
                  limit: int = LIST_LIMIT) -> tuple[list[SentMessage], datetime]:
    """The control API's view: the partner's workspace's messages, newest first, and the partner's now."""
    owned_workspace(tx, partner_id, workspace_id)
    return tx.messages(workspace_id, limit), now

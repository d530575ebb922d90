"""The Public API's bodies (public_api.yaml): `{"status": "ok", "data": ...}`, times written as its
published examples write them (`2026-12-03 15:19:23 +0000`, UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

from ..domain.clock import rfc3339
from ..domain.messages import chat_id, status_history
from ..domain.model import Member, SentMessage, WhatsAppAccount
from ..domain.workspaces import Details

TEAM = "Default"


def ok(data: object) -> dict:
    return {"status": "ok", "data": data}


def when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000")


def _account(acc: WhatsAppAccount, owner: Member | None) -> dict:
    connected_on = acc.connected_at or acc.last_connected_at or acc.disconnected_at
    return {
        "id": f"{acc.phone_number_e164.lstrip('+')}@s.whatsapp.net",
        "phone": acc.phone_number_e164,
        "connected_on": when(connected_on) if connected_on is not None else "",
        "status": "active" if acc.connected else "disconnected",
        "owner_name": owner.display_name if owner else "",
        "owner_email": owner.email if owner else "",
        "account_name": "",
    }


def whatsapp_accounts(accounts: list[tuple[Member, WhatsAppAccount]]) -> dict:
    """WhatsappAccountsResponse: every account the workspace's users have connected, with its user."""
    return ok({"whatsapp_accounts": [_account(acc, owner) for owner, acc in accounts]})


def _quota(total: int, used: int, details: Details) -> dict:
    return {"total": total, "used": used, "period_start": when(details.usage.period_start),
            "period_end": when(details.usage.period_end)}


def workspace(details: Details) -> dict:
    """WorkspaceInfoResponse: the figures of the Partner API's workspaceGet, in this API's shape."""
    record, plan, usage = details.workspace, details.plan, details.usage
    non_recurring: dict = {"remaining_balance": usage.non_recurring_balance}
    if usage.non_recurring_updated_at is not None:
        non_recurring["last_updated_at"] = when(usage.non_recurring_updated_at)
    return ok({
        "workspace_id": record.id,
        "display_name": record.display_name,
        "plan": f"Partner plan {plan.id}",
        "seats": {"total": record.seats_purchased, "used": record.seats_used},
        "messaging_quota": _quota(plan.messages, usage.messages, details),
        "api_calls_quota": _quota(plan.api_calls, usage.api_calls, details),
        "non_recurring_quota": non_recurring,
    })


def teammates(details: Details) -> dict:
    """WorkspaceTeammatesResponse: the workspace's users, each with its accounts."""
    accounts: dict[int, list[WhatsAppAccount]] = {}
    for user_id, acc in details.accounts:
        accounts.setdefault(user_id, []).append(acc)
    return ok({"teams": [{"title": TEAM}], "teammates": [{
        "user_id": m.user_id,
        "display_name": m.display_name,
        "email": m.email,
        "role": m.role,
        "team": TEAM,
        "status": m.status.title(),
        "created_at": when(m.created_at),
        "whatsapp_accounts": [_account(acc, m) for acc in accounts.get(m.user_id, [])],
    } for m in details.members]})


def message_id(message: SentMessage) -> dict:
    return ok({"message_uid": message.uid})


def message(msg: SentMessage, now: datetime) -> dict:
    """MessageInfoResponse: the message with its status at `now`."""
    status = status_history(msg, now)[-1][0]
    body: dict = {
        "uid": msg.uid,
        "chat_id": chat_id(msg),
        "timestamp": when(msg.created_at),
        "received_timestamp": when(msg.created_at),
        "sender_phone": msg.sender_phone,
        "sender_name": msg.sender_name,
        "recipient_phone": msg.recipient_phone,
        "recipient_name": msg.recipient_phone,
        "from_me": True,
        "status": status,
        "origin": "Public API",
        "has_attachment": msg.file_uid is not None or msg.attachment_template_id is not None,
        "message_type": "whatsapp",
        "reactions": {"users": [], "reactions": {}, "total": 0},
        "data": {},
        "created_by": "",
    }
    if msg.text is not None:
        body["text"] = msg.text
    return ok(body)


def history(msg: SentMessage, now: datetime) -> dict:
    """MessageStatusHistoryResponse: the statuses reached by `now`, oldest first."""
    return ok([{"status": status, "timestamp": when(at)} for status, at in status_history(msg, now)])


def sent_message(msg: SentMessage, now: datetime) -> dict:
    """A sent message as the control API lists it."""
    body: dict = {"message_uid": msg.uid, "user_id": msg.user_id, "whatsapp_account_phone": msg.sender_phone,
                  "phone": msg.recipient_phone, "credits": msg.credits, "status": status_history(msg, now)[-1][0],
                  "created_at": rfc3339(msg.created_at)}
    for name in ("text", "file_uid", "attachment_template_id", "label"):
        value = getattr(msg, name)
        if value is not None:
            body[name] = value
    return body

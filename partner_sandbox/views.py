"""Domain objects as the JSON documents the specs describe."""

from __future__ import annotations

from datetime import datetime, timezone

from . import domain


def _time(moment: datetime | None) -> str | None:
    return domain.rfc3339(moment) if moment is not None else None


def issued_link(issued: domain.IssuedLink, qr_link: str) -> dict:
    return {
        "workspace_id": issued.workspace_id,
        "user_id": issued.user_id,
        "qr_link": qr_link,
        "expires_at": domain.rfc3339(issued.expires_at),
        "whatsapp_disconnected": issued.whatsapp_disconnected,
        "previous_qr_revoked": issued.previous_qr_revoked,
    }


def disconnection(result: domain.Disconnection) -> dict:
    body = {"workspace_id": result.workspace_id, "user_id": result.user_id, "disconnected": result.account is not None}
    if result.account is None:
        body["description"] = f"User {result.user_id} has no connected WhatsApp account; nothing was disconnected"
        return body
    account = result.account
    return {**body, "disconnected_at": domain.rfc3339(result.at), "whatsapp_account_id": account.account_id,
            "phone_number": account.phone_number_e164,
            "description": f"The WhatsApp account {account.account_id} ({account.phone_number_e164}) was disconnected"}


def public_token(token) -> dict:
    body = {"workspace_id": token.workspace_id, "token": token.token}
    if token.rotated_at is not None:
        body["rotated_at"] = domain.rfc3339(token.rotated_at)
    return body


def link(record: domain.LinkRecord, now: datetime) -> dict:
    return {
        "id": record.id,
        "state": record.state(now),
        "issued_at": _time(record.issued_at),
        "expires_at": _time(record.expires_at),
        "closed_at": _time(record.closed_at),
    }


def account(acc: domain.WhatsAppAccount | None) -> dict:
    return {
        "connected": bool(acc and acc.connected),
        "account_id": acc.account_id if acc else None,
        "phone_number_e164": acc.phone_number_e164 if acc else None,
        "connected_at": _time(acc.connected_at) if acc else None,
        "disconnected_at": _time(acc.disconnected_at) if acc else None,
    }


def user_state(view: domain.UserView) -> dict:
    active = view.active_link
    return {
        "workspace_id": view.workspace_id,
        "user_id": view.user_id,
        "status": view.status,
        "now": _time(view.now),
        "whatsapp": account(view.account),
        "active_link": link(active, view.now) if active else None,
        "links": [link(l, view.now) for l in view.links],
    }


def clock(state: domain.ClockState, real_now: datetime) -> dict:
    now = state.now(real_now)
    return {
        "now": _time(now),
        "real_now": _time(real_now),
        "offset_seconds": round((now - real_now).total_seconds(), 3),
        "frozen": state.frozen_at is not None,
    }


def delivery(record: dict) -> dict:
    """A webhook event and its delivery attempts, as the control API shows it."""
    body = record["body"]
    pending = record["status"] == "pending"
    return {
        "id": record["id"],
        "event_id": record["event_id"],
        "event_type": body["event_type"],
        "workspace_id": body["workspace_id"],
        "user_id": body["user_id"],
        "status": record["status"],
        "attempts": record["attempts"],
        "next_retry_at": domain.event_time(datetime.fromtimestamp(max(record["next_attempt_at"], 0), timezone.utc))
        if pending and record["attempts"] else None,
        "created_at": record["created_at"],
        "body": body,
    }

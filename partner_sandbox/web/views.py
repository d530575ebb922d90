"""Domain objects as the JSON documents the specs describe."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..auth import signature_claims
from ..domain.accounts import Disconnection, UserView
from ..domain.clock import event_time, rfc3339
from ..domain.links import IssuedLink
from ..domain.model import ClockState, Delivery, LinkRecord, WhatsAppAccount
from ..errors import explanation
from ..webhooks.delivery import SIGNATURE_TTL_SECONDS


def _time(moment: datetime | None) -> str | None:
    return rfc3339(moment) if moment is not None else None


def rfc3339_seconds(seconds: int) -> str:
    """A Unix time (a token's exp) in the resources' wire format."""
    return rfc3339(datetime.fromtimestamp(seconds, UTC))


def issued_link(issued: IssuedLink, qr_link: str) -> dict:
    return {
        "workspace_id": issued.workspace_id,
        "user_id": issued.user_id,
        "qr_link": qr_link,
        "expires_at": rfc3339(issued.expires_at),
        "whatsapp_disconnected": issued.whatsapp_disconnected,
        "previous_qr_revoked": issued.previous_qr_revoked,
    }


def workspace(record) -> dict:
    """PartnerAPIWorkspaceResponse: after creation or an update (with the users a downgrade suspended)."""
    body = {
        "workspace_id": record.id,
        "display_name": record.display_name,
        "plan_id": record.plan_id,
        "seats_total": record.seats_purchased,
        "seats_available": record.seats_available,
        "group_id": record.group_id,
        "created_at": rfc3339(record.created_at),
        "updated_at": rfc3339(record.updated_at),
        "suspended_members": [suspension(s) for s in record.suspended],
    }
    if record.owner_user_id is not None:
        body["owner_user_id"] = record.owner_user_id
    return body


def suspension(item) -> dict:
    body = {"user_id": item.user_id, "phone_numbers": list(item.phone_numbers)}
    if item.whatsapp_account_id is not None:
        body["whatsapp_account_id"] = item.whatsapp_account_id
    return body


def member(item) -> dict:
    return {"user_id": item.user_id, "display_name": item.display_name, "role": item.role, "email": item.email,
            "status": item.status, "created_at": rfc3339(item.created_at)}


def created_users(record, members) -> dict:
    return {"workspace_id": record.id, "seats_total": record.seats_purchased, "seats_available": record.seats_available,
            "users": [member(m) for m in members]}


def workspace_details(details, link_url) -> dict:
    """PartnerAPIWorkspaceExtendedResponse; `link_url` makes a link's URL from its token. Details of
    the first users only (the control API's listWorkspaces) also say how many users there are."""
    record, plan, usage = details.workspace, details.plan, details.usage
    members, accounts, links = details.members, details.accounts, details.links
    period = {"period_start": rfc3339(usage.period_start), "period_end": rfc3339(usage.period_end)}
    non_recurring = {"remaining_balance": usage.non_recurring_balance}
    if usage.non_recurring_updated_at is not None:
        non_recurring["last_updated_at"] = rfc3339(usage.non_recurring_updated_at)
    return {
        "workspace_id": record.id,
        "display_name": record.display_name,
        "seats": {"total": record.seats_purchased, "used": record.seats_used},
        "messages_quota": {"total": plan.messages, "used": usage.messages, **period},
        "api_calls_quota": {"total": plan.api_calls, "used": usage.api_calls, **period},
        "non_recurring_quota": non_recurring,
        "users": [member(m) for m in members],
        "whatsapp_accounts": [whatsapp_account(user_id, acc) for user_id, acc in accounts],
        "qr_links": [{"qr_link": link_url(token), "user_id": user_id, "expires_at": rfc3339(expires)}
                     for user_id, token, expires in links],
        **({} if details.users_total is None else {"users_total": details.users_total}),
    }


def whatsapp_account(user_id: int, acc: WhatsAppAccount) -> dict:
    body = {"user_id": user_id, "connected": acc.connected, "whatsapp_account_id": acc.account_id,
            "phone_number_e164": acc.phone_number_e164, "connection_status": "connected" if acc.connected else "disconnected"}
    if acc.connected_at is not None:
        body["connected_at"] = rfc3339(acc.connected_at)
    return body


def disconnection(result: Disconnection) -> dict:
    body = {"workspace_id": result.workspace_id, "user_id": result.user_id, "disconnected": result.account is not None}
    if result.account is None:
        body["description"] = f"User {result.user_id} has no connected WhatsApp account; nothing was disconnected"
        return body
    account = result.account
    return {**body, "disconnected_at": rfc3339(result.at), "whatsapp_account_id": account.account_id,
            "phone_number": account.phone_number_e164,
            "description": f"The WhatsApp account {account.account_id} ({account.phone_number_e164}) was disconnected"}


def public_token(token) -> dict:
    body = {"workspace_id": token.workspace_id, "token": token.token}
    if token.rotated_at is not None:
        body["rotated_at"] = rfc3339(token.rotated_at)
    return body


def link(record: LinkRecord, now: datetime) -> dict:
    return {
        "id": record.id,
        "state": record.state(now),
        "issued_at": _time(record.issued_at),
        "expires_at": _time(record.expires_at),
        "closed_at": _time(record.closed_at),
    }


def account(acc: WhatsAppAccount | None) -> dict:
    return {
        "connected": bool(acc and acc.connected),
        "account_id": acc.account_id if acc else None,
        "phone_number_e164": acc.phone_number_e164 if acc else None,
        "connected_at": _time(acc.connected_at) if acc else None,
        "disconnected_at": _time(acc.disconnected_at) if acc else None,
    }


def user_state(view: UserView) -> dict:
    active = view.active_link
    return {
        "workspace_id": view.workspace_id,
        "user_id": view.user_id,
        "status": view.status,
        "now": _time(view.now),
        "whatsapp": account(view.account),
        "active_link": link(active, view.now) if active else None,
        "links": [link(record, view.now) for record in view.links],
        "next_failure": view.next_failure,
    }


def clock(state: ClockState, real_now: datetime) -> dict:
    now = state.now(real_now)
    return {
        "now": _time(now),
        "real_now": _time(real_now),
        "offset_seconds": round((now - real_now).total_seconds(), 3),
        "frozen": state.frozen_at is not None,
    }


def delivery(record: Delivery, partner_id: str) -> dict:
    """A webhook event and its delivery attempts, as the control API shows it."""
    body = record.body
    pending = record.status == "pending"
    return {
        "id": record.id,
        "event_id": record.event_id,
        "event_type": body["event_type"],
        "workspace_id": body["workspace_id"],
        "user_id": body.get("user_id"),  # none for the workspace's own events
        "status": record.status,
        "attempts": [{"at": event_time(a.at), "status_code": a.status_code, "error": a.error,
                      "latency_ms": a.latency_ms, "signature": _signature(partner_id, a.at) if a.signed else None}
                     for a in record.attempts],
        "next_retry_at": event_time(record.next_attempt_at) if pending and record.attempts else None,
        "created_at": event_time(record.created_at),
        "body": body,
    }


def _signature(partner_id: str, at: datetime) -> dict:
    """The X-TL-Signature an attempt carried: its algorithm and claims (the JWT itself is not kept)."""
    return {"header": "X-TL-Signature", "alg": "HS256",
            "claims": signature_claims(partner_id, ttl_seconds=SIGNATURE_TTL_SECONDS, issued=int(at.timestamp()))}


def journal_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A journal entry as the control API shows it: an error answer (the envelope) says why in words."""
    return {**entry, "error": _journal_error(entry)}


def _journal_error(entry: dict[str, Any]) -> dict[str, Any] | None:
    if entry["status"] < 400 or not entry.get("response_body"):
        return None
    try:
        document = json.loads(entry["response_body"])
    except ValueError:  # cut at the journal's 16 KiB, or not JSON
        return None
    if not isinstance(document, dict) or not isinstance(document.get("error"), str):
        return None
    code = document["error"]
    description = document.get("description") if isinstance(document.get("description"), str) else None
    return {"code": code, "description": description, "explanation": explanation(code)}

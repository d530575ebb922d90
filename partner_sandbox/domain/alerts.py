"""The workspace's own webhook events: seats full and quota thresholds, each at most once per billing
period (the period they fire in is recorded with the workspace), and a rotated Public API token."""

from __future__ import annotations

from datetime import datetime

from typing import Any, Protocol

from .clock import event_time, rfc3339
from .model import Plan, Usage
from .ports import Events, JsonObject, PlanUse


class Alerting(Events, PlanUse, Protocol):
    pass

SEATS_FULL = "workspace:seats_full"
MESSAGING_NEAR_FULL = "workspace:quota_near_full:messaging"
MESSAGING_FULL = "workspace:quota_full:messaging"
TRANSACTIONS_FULL = "workspace:quota_full:transactions"
API_CALLS_FULL = "workspace:quota_full:api_calls"
TOKEN_ROTATED = "api_token:rotated"
NEAR_FULL_PCT = 90


def _body(event_type: str, partner_id: str, workspace_id: str, now: datetime, **fields: Any) -> JsonObject:
    return {"workspace_id": workspace_id, "event_type": event_type, "partner_id": partner_id,
            "triggered_at": event_time(now), **fields}


def _once_a_period(tx: Alerting, partner_id: str, workspace_id: str, period_start: datetime,
                   events: list[tuple[str, JsonObject]], now: datetime) -> None:
    """Send each (event type, fields) not yet sent in this period, in order, and remember it."""
    if not events:
        return
    fired = tx.fired_alerts(workspace_id, period_start)
    new = [(kind, fields) for kind, fields in events if kind not in fired]
    for kind, fields in new:
        tx.add_event(partner_id, workspace_id, None, _body(kind, partner_id, workspace_id, now, **fields), now)
    if new:
        tx.set_fired_alerts(workspace_id, period_start, fired | {kind for kind, _ in new})


def check_seats(tx: Alerting, partner_id: str, workspace_id: str, seats_purchased: int, seats_available: int,
                period_start: datetime, now: datetime) -> None:
    """`workspace:seats_full` when no seat is left."""
    if seats_available <= 0:
        _once_a_period(tx, partner_id, workspace_id, period_start, [
            (SEATS_FULL, {"seats_purchased": seats_purchased, "seats_available": 0})], now)


def _pct(used: int, total: int) -> int:
    return 100 if total <= 0 else min(100, used * 100 // total)


def check_quotas(tx: Alerting, partner_id: str, workspace_id: str, plan: Plan, usage: Usage, now: datetime, *,
                 transactions_spent: bool = False) -> None:
    """The quota events the workspace's use in the current period has reached, in order: messaging at
    90% then 100%, transactions when the non-recurring balance is spent, API calls at 100%."""
    if not ((usage.messages > 0 and _pct(usage.messages, plan.messages) >= NEAR_FULL_PCT)
            or (transactions_spent and usage.non_recurring_balance <= 0)
            or (usage.api_calls > 0 and usage.api_calls >= plan.api_calls)):
        return  # nothing reached (the common case of every counted call): no event to build
    period: JsonObject = {"current_period_start": rfc3339(usage.period_start), "current_period_end": rfc3339(usage.period_end)}
    events: list[tuple[str, JsonObject]] = []
    messaging: JsonObject = {"messaging_quota_total": plan.messages, "messaging_quota_used": usage.messages,
                 "utilization_pct": _pct(usage.messages, plan.messages), **period}
    if usage.messages > 0 and messaging["utilization_pct"] >= NEAR_FULL_PCT:
        events.append((MESSAGING_NEAR_FULL, messaging))
    if usage.messages > 0 and usage.messages >= plan.messages:
        events.append((MESSAGING_FULL, messaging))
    if transactions_spent and usage.non_recurring_balance <= 0:
        events.append((TRANSACTIONS_FULL, period))
    if usage.api_calls > 0 and usage.api_calls >= plan.api_calls:
        events.append((API_CALLS_FULL,
                       {"api_calls_limit": plan.api_calls, "api_calls_used": usage.api_calls, **period}))
    _once_a_period(tx, partner_id, workspace_id, usage.period_start, events, now)


def token_rotated(tx: Alerting, partner_id: str, workspace_id: str, now: datetime) -> None:
    """`api_token:rotated` on every rotation (the token itself is never sent)."""
    tx.add_event(partner_id, workspace_id, None, _body(TOKEN_ROTATED, partner_id, workspace_id, now,
                                                       rotated_at=event_time(now)), now)

"""The webhook outbox: events written with the change that causes them, claimed by one process at
a time for an attempt, the attempts, and what the control API shows of them (the Events port)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any
from collections.abc import Callable

from sqlalchemy import BigInteger, and_, bindparam, exists, insert, literal, select, update
from sqlalchemy.orm import aliased

from ..domain.model import Delivery, DeliveryAttempt, OutboxEvent
from .encoding import from_us, seconds_to_us, to_us
from .schema import webhook_attempts, webhooks
from .schema import webhook_events as events
from .statements import InsertFn, Statement, Rows, statement




@statement
def _add_event(_: InsertFn) -> Statement:
    # Only when the partner has a webhook URL to deliver it to.
    c = events.c
    values = select(*(bindparam(name, type_=c[name].type) for name in ("event_id", "partner_id", "workspace_id",
                                                                       "user_id", "body")),
                    literal("pending"), literal(0, BigInteger), bindparam("created_at", type_=c.created_at.type)).where(
        exists().where(webhooks.c.partner_id == bindparam("partner_id")))
    return insert(events).inline().from_select(["event_id", "partner_id", "workspace_id", "user_id", "body", "status",
                                       "next_attempt_at", "created_at"], values)


@statement
def _due(_: InsertFn) -> Statement:
    earlier = aliased(events)
    return select(events.c.id, events.c.event_id, events.c.partner_id, events.c.body, events.c.round_attempts).where(
        events.c.status == "pending", events.c.next_attempt_at <= bindparam("now"),
        ~exists().where(earlier.c.workspace_id == events.c.workspace_id, earlier.c.status == "pending",
                        earlier.c.id < events.c.id),
    ).order_by(events.c.id).limit(bindparam("limit"))


@statement
def _claim(_: InsertFn) -> Statement:
    # compare-and-set, so that two processes never take the same event
    return update(events).where(events.c.id == bindparam("row"), events.c.status == "pending",
                                events.c.next_attempt_at <= bindparam("now")).values(
        next_attempt_at=bindparam("until")).returning(events.c.id)


@statement
def _add_attempt(insert: InsertFn) -> Statement:
    return insert(webhook_attempts).inline().values(event_row=bindparam("row"), at=bindparam("at"),
                                           status_code=bindparam("status_code"), error=bindparam("error"),
                                           latency_ms=bindparam("latency_ms"), signed=bindparam("signed"))


@statement
def _attempted(_: InsertFn) -> Statement:
    return update(events).where(events.c.id == bindparam("row")).values(
        status=bindparam("outcome"), round_attempts=events.c.round_attempts + 1,
        next_attempt_at=bindparam("next_attempt_at"))


@statement
def _deliveries(_: InsertFn) -> Statement:
    return select(events.c.id, events.c.event_id, events.c.body, events.c.status, events.c.next_attempt_at,
                  events.c.created_at).where(events.c.partner_id == bindparam("partner_id")).order_by(
        events.c.id.desc()).limit(bindparam("limit"))


@statement
def _attempts(_: InsertFn) -> Statement:
    a = webhook_attempts.c
    return select(a.at, a.status_code, a.error, a.latency_ms, a.signed).where(a.event_row == bindparam("row")).order_by(a.id)


@statement
def _redeliver(_: InsertFn) -> Statement:
    return update(events).where(and_(events.c.id == bindparam("row"), events.c.partner_id == bindparam("partner_id"))
                                ).values(status="pending", round_attempts=0, next_attempt_at=0).returning(events.c.id)


class OutboxRows(Rows):
    def add_event(self, partner_id: str, workspace_id: str, user_id: int | None, body: dict[str, Any],
                  at: datetime) -> None:
        """Into the outbox, when the partner has a webhook URL to deliver it to; `at`: the change's instant."""
        self._run(_add_event, event_id=str(uuid.uuid4()), partner_id=partner_id, workspace_id=workspace_id,
                  user_id=user_id, body=json.dumps(body), created_at=to_us(at))

    def claim_events(self, now: float, lease: float, limit: int, *, room: Callable[[str], int] | None = None
                     ) -> list[OutboxEvent]:
        """Due events, each the oldest pending one of its workspace (order per workspace), leased for
        `lease` s; at most `room(partner)` of each partner's (the caller's share for that partner)."""
        now_us = seconds_to_us(now)
        claimed: list[OutboxEvent] = []
        taken_of: dict[str, int] = {}
        for row in self._all(_due, now=now_us, limit=limit * 4):
            if len(claimed) >= limit:
                break
            partner = row["partner_id"]
            if room is not None and taken_of.get(partner, 0) >= room(partner):
                continue  # this partner has its share in flight: other partners' events go first
            taken_of[partner] = taken_of.get(partner, 0) + 1
            if self._one(_claim, row=row["id"], now=now_us, until=seconds_to_us(now + lease)):
                claimed.append(OutboxEvent(row["id"], row["event_id"], partner, row["body"], row["round_attempts"]))
        return claimed

    def record_attempt(self, row: int, at: datetime, status_code: int | None, error: str | None, latency_ms: float,
                       outcome: str, next_attempt_at: float = 0, *, signed: bool = False) -> None:
        """One attempt and its outcome: 'delivered', 'failed' or 'pending' (retry at next_attempt_at, a
        `time.time()` reading); `signed`: a signed request went out."""
        self._run(_add_attempt, row=row, at=to_us(at), status_code=status_code, error=error, latency_ms=latency_ms,
                  signed=signed)
        self._run(_attempted, row=row, outcome=outcome, next_attempt_at=seconds_to_us(next_attempt_at))

    def deliveries(self, partner_id: str, limit: int) -> list[Delivery]:
        return [Delivery(row["id"], row["event_id"], json.loads(row["body"]), row["status"],
                         from_us(row["next_attempt_at"]),
                         from_us(row["created_at"]),
                         [DeliveryAttempt(from_us(a["at"]), a["status_code"], a["error"], a["latency_ms"], bool(a["signed"]))
                          for a in self._all(_attempts, row=row["id"])])
                for row in self._all(_deliveries, partner_id=partner_id, limit=limit)]

    def redeliver(self, partner_id: str, row: int) -> bool:
        """Deliver the partner's event again, with a fresh round of attempts; False if it is not theirs."""
        return self._one(_redeliver, row=row, partner_id=partner_id) is not None

"""A small world for the workspace, alert and token rules (test_workspaces.py, test_alerts.py,
test_tokens.py), and the ways to run those rules on a real store: SQLite in memory, or a fresh
PostgreSQL database. Only the store's public interface is used: `transaction()`, the transaction's
port methods (domain/ports.py), and `deliveries` to read the webhook events a rule wrote."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, UTC
from collections.abc import Iterator

import pytest

from partner_sandbox.domain.model import Plan
from partner_sandbox.errors import ApiError
from partner_sandbox.fixtures import World, parse_world
from partner_sandbox.store import SqliteStore

P1_PLAN = Plan(id=7, messages=100, api_calls=50, non_recurring=5)
P2_PLAN = Plan(id=9, messages=2000, api_calls=20_000, non_recurring=0)


def world_text(p1_plan: Plan = P1_PLAN) -> str:
    """p1 (webhook set) has `team` (owner 1; agent 2 with WhatsApp and a 1-hour link; agent 3 with
    a 24-hour link; suspended agent 4; 4 seats, 3 in use) and the billing-managed `billed`; p2
    (webhook set) has `theirs`. Both partners have a webhook URL, so their events are written."""
    return f"""
partners:
  - id: p1
    secret: p1-secret-that-is-long-enough-000000
    webhook_url: http://127.0.0.1:9/p1-hooks
    plan: {{id: {p1_plan.id}, messages: {p1_plan.messages}, api_calls: {p1_plan.api_calls},
            non_recurring: {p1_plan.non_recurring}}}
    workspaces:
      - id: team
        display_name: Team
        seats_purchased: 4
        users:
          - {{id: 1, role: owner}}
          - id: 2
            whatsapp: {{account_id: 20, phone_number_e164: "+15550000002"}}
            active_link: {{expires_in_hours: 1}}
          - id: 3
            active_link: {{expires_in_hours: 24}}
          - {{id: 4, status: suspended}}
      - id: billed
        billing_managed: true
        users: [{{id: 5, role: owner}}]
  - id: p2
    secret: p2-secret-that-is-long-enough-000000
    webhook_url: http://127.0.0.1:9/p2-hooks
    plan: {{id: {P2_PLAN.id}, messages: {P2_PLAN.messages}, api_calls: {P2_PLAN.api_calls},
            non_recurring: {P2_PLAN.non_recurring}}}
    workspaces:
      - id: theirs
        users: [{{id: 11, role: owner}}]
"""


WORLD = parse_world(world_text(), "workspace_world")
# Mid-month, with microseconds: webhook times keep the milliseconds, stored times the microseconds
# (links alone are issued on whole seconds).
T0 = datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)
T0_SECONDS = T0.replace(microsecond=0)
FEB = datetime(2026, 2, 1, tzinfo=UTC)  # the next billing period starts
FIRST_USER_ID = 100_000  # past every fixture user
FIRST_GROUP_ID = 4  # the three fixture workspaces took 1..3


@pytest.fixture
def store(open_store):
    """The rules run on both backends: SQLite in memory, and a fresh PostgreSQL database."""
    return open_store(WORLD, T0)


@contextmanager
def sqlite_store(world: World = WORLD) -> Iterator[SqliteStore]:
    """A fresh in-memory store of its own, for a property test's single example."""
    s = SqliteStore(":memory:")
    s.seed_if_empty(world, T0)
    try:
        yield s
    finally:
        s.close()


def run(store, rule, **arguments):
    """One rule in one transaction."""
    with store.transaction() as tx:
        return rule(tx, **arguments)


def refusal(store, rule, **arguments) -> tuple[str, int]:
    """(code, status) of the ApiError the rule raises."""
    with pytest.raises(ApiError) as exc:
        run(store, rule, **arguments)
    return exc.value.code, exc.value.status


def read(store, method: str, *args):
    """A read-back through one of the transaction's port methods."""
    with store.transaction() as tx:
        return getattr(tx, method)(*args)


def events(store, partner_id: str = "p1") -> list[dict]:
    """The bodies of the webhook events written for the partner, oldest first."""
    with store.transaction() as tx:
        return [d.body for d in reversed(tx.deliveries(partner_id, 1000))]


def event_types(store, partner_id: str = "p1") -> list[str]:
    return [body["event_type"] for body in events(store, partner_id)]


class Hiding:
    """A transaction as a racing one saw it: `hidden` port methods answer None (what a transaction
    that read before a concurrent commit saw); everything else is the real transaction."""

    def __init__(self, tx, *hidden: str):
        self._tx = tx
        self._hidden = set(hidden)

    def __getattr__(self, name):
        if name in self._hidden:
            self._hidden.discard(name)  # only the first read misses it
            return lambda *args, **kwargs: None
        return getattr(self._tx, name)

"""The workspace's own webhook events (domain/alerts.py): seats full, the quota thresholds (each at
most once per billing period) and a rotated token. The events are read back from the store's outbox
as the rules wrote them; each body is checked whole, and against the published webhooks.yaml."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone, UTC

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_sandbox.domain import alerts, tokens, workspaces
from partner_sandbox.domain.model import Plan
from partner_sandbox.errors import ApiError
from partner_sandbox.fixtures import parse_world
from partner_sandbox.resources import spec_path
from partner_sandbox.spec import SpecDocument

from tests.unit.workspace_world import (
    FEB,
    T0,
    WORLD,
    event_types,
    events,
    read,
    run,
    sqlite_store,
    world_text,
)

@pytest.fixture
def store(open_store):
    """The rules run on both backends: SQLite in memory, and a fresh PostgreSQL database."""
    return open_store(WORLD, T0)


JAN = datetime(2026, 1, 1, tzinfo=UTC)
MAR = datetime(2026, 3, 1, tzinfo=UTC)
JANUARY = {"current_period_start": "2026-01-01T00:00:00Z", "current_period_end": "2026-02-01T00:00:00Z"}
FEBRUARY = {"current_period_start": "2026-02-01T00:00:00Z", "current_period_end": "2026-03-01T00:00:00Z"}
T0_EVENT = "2026-01-15T12:00:00.123Z"  # T0 in the webhooks' format: milliseconds, UTC, Z

WEBHOOKS = SpecDocument.load(spec_path().parent / "webhooks.yaml")


def published(body: dict) -> dict:
    """The body, after checking it against the schema webhooks.yaml publishes for its event, with
    no field the schema does not name."""
    media = WEBHOOKS.raw["webhooks"][body["event_type"]]["post"]["requestBody"]["content"]["application/json"]
    schema = WEBHOOKS.inline(media["schema"])
    jsonschema.Draft202012Validator({**schema, "additionalProperties": False},
                                    format_checker=jsonschema.FormatChecker()).validate(body)
    return body


def head(event_type: str, workspace: str = "team", triggered_at: str = T0_EVENT, partner: str = "p1") -> dict:
    return {"workspace_id": workspace, "event_type": event_type, "partner_id": partner, "triggered_at": triggered_at}


def workspace_events(store, partner="p1") -> list[dict]:
    """The workspace events (not the whatsapp_account:* ones), each checked against its schema."""
    return [published(e) for e in events(store, partner) if not e["event_type"].startswith("whatsapp_account:")]


def use(store, kind, amount, now=T0, workspace="team", partner="p1"):
    return run(store, workspaces.simulate_usage, partner_id=partner, workspace_id=workspace, kind=kind, amount=amount,
               now=now)


def add_users(store, count, now=T0, workspace="team"):
    return run(store, workspaces.create_users, partner_id="p1", workspace_id=workspace, count=count, now=now)


def set_seats(store, seats, now=T0, workspace="team"):
    return run(store, workspaces.update_workspace, partner_id="p1", workspace_id=workspace, display_name=None,
               seats_purchased=seats, now=now)


def rotate(store, now=T0, token="rotated-token-0000000000000", workspace="team", partner="p1"):
    return run(store, tokens.rotate_token, partner_id=partner, workspace_id=workspace, now=now,
               new_token=lambda: token)


# --- seats ----------------------------------------------------------------------------------------

def test_filling_the_last_seat_sends_seats_full(store):
    add_users(store, 1)  # 4 of 4
    assert workspace_events(store) == [{**head(alerts.SEATS_FULL), "seats_purchased": 4, "seats_available": 0}]
    assert read(store, "fired_alerts", "team", JAN) == {alerts.SEATS_FULL}


def test_seats_with_one_left_send_nothing(store):
    set_seats(store, 5)
    add_users(store, 1)  # 4 of 5
    assert workspace_events(store) == []
    assert read(store, "fired_alerts", "team", JAN) == set()


def test_a_one_seat_workspace_is_full_at_its_creation(store):
    run(store, workspaces.create_workspace, partner_id="p2", display_name="Solo", seats_purchased=1, now=T0)
    assert workspace_events(store, "p2") == [{**head(alerts.SEATS_FULL, "solo", partner="p2"),
                                              "seats_purchased": 1, "seats_available": 0}]
    assert workspace_events(store, "p1") == []  # the partner's own webhook only


def test_seats_changed_to_those_in_use_or_fewer_send_seats_full(store):
    set_seats(store, 3)  # 3 active users: full, nobody suspended
    assert workspace_events(store) == [{**head(alerts.SEATS_FULL), "seats_purchased": 3, "seats_available": 0}]


def test_a_downgrade_that_suspends_users_sends_seats_full_after_the_disconnections(store):
    set_seats(store, 1)
    assert event_types(store) == ["whatsapp_account:disconnected", alerts.SEATS_FULL]
    assert workspace_events(store)[-1] == {**head(alerts.SEATS_FULL), "seats_purchased": 1, "seats_available": 0}


def test_a_rename_sends_no_seats_event_even_when_no_seat_is_left(store):
    """Full since January: a rename in February changes no seats, so February has no event."""
    add_users(store, 1)
    run(store, workspaces.update_workspace, partner_id="p1", workspace_id="team", display_name="Renamed",
        seats_purchased=None, now=FEB + timedelta(days=1))
    assert [e["triggered_at"] for e in workspace_events(store)] == [T0_EVENT]


def test_seats_full_is_sent_once_a_period_and_again_in_the_next(store):
    add_users(store, 1)  # full
    set_seats(store, 6, now=T0 + timedelta(days=1))
    add_users(store, 2, now=T0 + timedelta(days=2))  # full again, same period: nothing
    set_seats(store, 6, now=T0 + timedelta(days=3))  # still full: nothing
    assert [e["triggered_at"] for e in workspace_events(store)] == [T0_EVENT]
    set_seats(store, 6, now=FEB)  # still full, in February: once more
    assert workspace_events(store)[1:] == [{**head(alerts.SEATS_FULL, triggered_at="2026-02-01T00:00:00.000Z"),
                                            "seats_purchased": 6, "seats_available": 0}]
    assert read(store, "fired_alerts", "team", FEB) == {alerts.SEATS_FULL}
    assert read(store, "fired_alerts", "team", MAR) == set()


# --- quotas: messaging ----------------------------------------------------------------------------

def test_messaging_at_90_percent_sends_near_full_once(store):
    use(store, "messages", 89)  # 89%: nothing
    assert workspace_events(store) == []
    use(store, "messages", 1)
    near = {**head(alerts.MESSAGING_NEAR_FULL), "messaging_quota_total": 100, "messaging_quota_used": 90,
            "utilization_pct": 90, **JANUARY}
    assert workspace_events(store) == [near]
    use(store, "messages", 9)  # 99%: said already
    assert workspace_events(store) == [near]


def test_messaging_at_100_percent_sends_full_once_after_near_full(store):
    use(store, "messages", 95)
    use(store, "messages", 5, now=T0 + timedelta(hours=1))
    use(store, "messages", 50, now=T0 + timedelta(hours=2))  # beyond: said already
    assert [e["event_type"] for e in workspace_events(store)] == [alerts.MESSAGING_NEAR_FULL, alerts.MESSAGING_FULL]
    assert workspace_events(store)[1] == {**head(alerts.MESSAGING_FULL, triggered_at="2026-01-15T13:00:00.123Z"),
                                          "messaging_quota_total": 100, "messaging_quota_used": 100,
                                          "utilization_pct": 100, **JANUARY}
    assert read(store, "fired_alerts", "team", JAN) == {alerts.MESSAGING_NEAR_FULL, alerts.MESSAGING_FULL}


def test_a_jump_past_both_thresholds_sends_near_full_then_full_with_the_use_capped_at_100_percent(store):
    use(store, "messages", 150)
    fields = {"messaging_quota_total": 100, "messaging_quota_used": 150, "utilization_pct": 100, **JANUARY}
    assert workspace_events(store) == [{**head(alerts.MESSAGING_NEAR_FULL), **fields},
                                       {**head(alerts.MESSAGING_FULL), **fields}]


def test_the_messaging_events_come_again_in_the_next_period(store):
    use(store, "messages", 100)
    use(store, "messages", 100, now=T0 + timedelta(days=3))  # January still: nothing new
    use(store, "messages", 90, now=FEB + timedelta(hours=1))  # February's 90%
    use(store, "messages", 10, now=FEB + timedelta(hours=2))  # February's 100%
    got = workspace_events(store)
    assert [(e["event_type"], e["messaging_quota_used"], e["current_period_start"]) for e in got] == [
        (alerts.MESSAGING_NEAR_FULL, 100, "2026-01-01T00:00:00Z"),
        (alerts.MESSAGING_FULL, 100, "2026-01-01T00:00:00Z"),
        (alerts.MESSAGING_NEAR_FULL, 90, "2026-02-01T00:00:00Z"),
        (alerts.MESSAGING_FULL, 100, "2026-02-01T00:00:00Z"),
    ]
    assert got[2] == {**head(alerts.MESSAGING_NEAR_FULL, triggered_at="2026-02-01T01:00:00.000Z"),
                      "messaging_quota_total": 100, "messaging_quota_used": 90, "utilization_pct": 90, **FEBRUARY}


def test_seats_and_quota_events_of_a_period_are_remembered_together(store):
    add_users(store, 1)
    use(store, "messages", 100)
    assert read(store, "fired_alerts", "team", JAN) == {alerts.SEATS_FULL, alerts.MESSAGING_NEAR_FULL,
                                                        alerts.MESSAGING_FULL}
    set_seats(store, 4, now=T0 + timedelta(days=1))  # full still: the seats event is remembered too
    assert event_types(store).count(alerts.SEATS_FULL) == 1


# --- quotas: transactions and API calls -----------------------------------------------------------

def test_spending_the_non_recurring_balance_sends_transactions_full_once_a_period(store):
    use(store, "transactions", 3)  # 2 left
    assert workspace_events(store) == []
    use(store, "transactions", 3, now=T0 + timedelta(minutes=1))  # spent
    full = {**head(alerts.TRANSACTIONS_FULL, triggered_at="2026-01-15T12:01:00.123Z"), **JANUARY}
    assert workspace_events(store) == [full]
    use(store, "transactions", 1, now=T0 + timedelta(minutes=2))
    assert workspace_events(store) == [full]
    use(store, "transactions", 1, now=FEB)  # a spend in the next period, on the empty balance
    assert workspace_events(store)[1:] == [{**head(alerts.TRANSACTIONS_FULL,
                                                   triggered_at="2026-02-01T00:00:00.000Z"), **FEBRUARY}]


def test_an_empty_balance_sends_nothing_until_a_transaction_spends(store):
    """p2's plan has no non-recurring balance: using messages or API calls is no transaction."""
    use(store, "messages", 1, workspace="theirs", partner="p2")
    use(store, "api_calls", 1, workspace="theirs", partner="p2")
    assert workspace_events(store, "p2") == []
    use(store, "transactions", 1, workspace="theirs", partner="p2")
    assert workspace_events(store, "p2") == [{**head(alerts.TRANSACTIONS_FULL, "theirs", partner="p2"), **JANUARY}]


def test_api_calls_at_100_percent_send_full_once_and_nothing_before(store):
    use(store, "api_calls", 45)  # 90%: API calls have no near-full event
    use(store, "api_calls", 4)  # 98%
    assert workspace_events(store) == []
    use(store, "api_calls", 1)
    full = {**head(alerts.API_CALLS_FULL), "api_calls_limit": 50, "api_calls_used": 50, **JANUARY}
    assert workspace_events(store) == [full]
    use(store, "api_calls", 30)
    assert workspace_events(store) == [full]
    use(store, "api_calls", 50, now=FEB)
    assert workspace_events(store)[1:] == [{**head(alerts.API_CALLS_FULL, triggered_at="2026-02-01T00:00:00.000Z"),
                                            "api_calls_limit": 50, "api_calls_used": 50, **FEBRUARY}]


def test_the_event_times_keep_the_milliseconds_in_utc(store):
    use(store, "api_calls", 50, now=datetime(2026, 1, 20, 9, 30, 15, 999999, tzinfo=timezone(timedelta(hours=-5))))
    assert workspace_events(store)[0]["triggered_at"] == "2026-01-20T14:30:15.999Z"


# --- any sequence of uses, against a model of the thresholds --------------------------------------

STEP = st.one_of(st.tuples(st.sampled_from(["messages", "api_calls"]), st.integers(1, 120)),
                 st.tuples(st.just("next_month"), st.integers(0, 27)))


@settings(max_examples=50, deadline=None)
@given(messages=st.integers(1, 300), api_calls=st.integers(1, 300), steps=st.lists(STEP, min_size=1, max_size=14))
def test_the_quota_events_follow_the_model(messages, api_calls, steps):
    """Messaging near-full is sent once a period when 10 x used >= 9 x quota (90%), full when
    used >= quota, API calls full when used >= limit; in that order, with the use at that moment."""
    world = parse_world(world_text(Plan(id=3, messages=messages, api_calls=api_calls, non_recurring=0)), "prop")
    with sqlite_store(world) as s:
        now, used, calls, fired, expected = T0, 0, 0, set(), []
        for kind, amount in steps:
            if kind == "next_month":
                month_start = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
                now, used, calls, fired = month_start + timedelta(days=amount), 0, 0, set()
                continue
            if kind == "messages":
                used += amount
            else:
                calls += amount
            reached = [(alerts.MESSAGING_NEAR_FULL, 10 * used >= 9 * messages, used),
                       (alerts.MESSAGING_FULL, used >= messages, used),
                       (alerts.API_CALLS_FULL, calls >= api_calls, calls)]
            for event_type, now_reached, value in reached:
                if now_reached and event_type not in fired:
                    fired.add(event_type)
                    expected.append((event_type, value, f"{now.year}-{now.month:02d}"))
            use(s, kind, amount, now=now)
        got = [(e["event_type"], e.get("messaging_quota_used", e.get("api_calls_used")),
                e["current_period_start"][:7]) for e in workspace_events(s)]
        assert got == expected
        for e in workspace_events(s):
            if "utilization_pct" in e:
                assert e["utilization_pct"] == min(100, e["messaging_quota_used"] * 100 // messages)


# --- the rotated token --------------------------------------------------------------------------

def test_every_rotation_sends_token_rotated_without_the_token(store):
    first = rotate(store, token="first-rotated-token-000000000")
    second = rotate(store, now=T0 + timedelta(seconds=1), token="second-rotated-token-00000000")
    got = workspace_events(store)
    assert got == [{**head(alerts.TOKEN_ROTATED), "rotated_at": T0_EVENT},
                   {**head(alerts.TOKEN_ROTATED, triggered_at="2026-01-15T12:00:01.123Z"),
                    "rotated_at": "2026-01-15T12:00:01.123Z"}]
    text = json.dumps(got)
    assert first.token not in text and second.token not in text


def test_reading_the_token_sends_nothing(store):
    run(store, tokens.current_token, partner_id="p1", workspace_id="team", now=T0)
    run(store, tokens.current_token, partner_id="p1", workspace_id="team", now=T0)
    assert workspace_events(store) == []


def test_a_refused_rotation_sends_nothing(store):
    for partner, workspace in (("p1", "theirs"), ("p1", "billed"), ("p1", "nope")):
        with store.transaction() as tx:
            with pytest.raises(ApiError):
                tokens.rotate_token(tx, partner_id=partner, workspace_id=workspace, now=T0, new_token=lambda: "x" * 43)
            assert tx.deliveries("p1", 10) == tx.deliveries("p2", 10) == []  # refused before anything was written

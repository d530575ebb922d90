"""The workspace rules (domain/workspaces.py): creation with an Owner, details with seats and usage,
renaming and seat changes (a downgrade suspends the newest agents), all-or-nothing user creation and
simulated usage. On a real store (SQLite in memory and PostgreSQL) with an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, UTC

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_sandbox.domain import accounts, workspaces
from partner_sandbox.domain.model import Member, Suspension
from partner_sandbox.errors import ApiError

from tests.unit.workspace_world import (
    FEB,
    FIRST_GROUP_ID,
    FIRST_USER_ID,
    P1_PLAN,
    P2_PLAN,
    T0,
    WORLD,
    T0_SECONDS,
    Hiding,
    event_types,
    events,
    read,
    refusal,
    run,
    sqlite_store,
)

@pytest.fixture
def store(open_store):
    """The rules run on both backends: SQLite in memory, and a fresh PostgreSQL database."""
    return open_store(WORLD, T0)



def create(store, name="New-Team", seats=3, partner="p1", now=T0):
    return run(store, workspaces.create_workspace, partner_id=partner, display_name=name, seats_purchased=seats,
               now=now)


def add_users(store, count, workspace="team", partner="p1", now=T0):
    return run(store, workspaces.create_users, partner_id=partner, workspace_id=workspace, count=count, now=now)


def update(store, workspace="team", partner="p1", name=None, seats=None, now=T0):
    return run(store, workspaces.update_workspace, partner_id=partner, workspace_id=workspace, display_name=name,
               seats_purchased=seats, now=now)


def details(store, workspace="team", partner="p1", now=T0):
    return run(store, workspaces.workspace_details, partner_id=partner, workspace_id=workspace, now=now)


def use(store, kind, amount, workspace="team", partner="p1", now=T0):
    return run(store, workspaces.simulate_usage, partner_id=partner, workspace_id=workspace, kind=kind, amount=amount,
               now=now)


def statuses(store, workspace="team") -> dict[int, str]:
    return {m.user_id: m.status for m in read(store, "members", workspace)}


# --- creation ------------------------------------------------------------------------------------

def test_the_id_is_the_display_name_lower_cased_and_cut_to_30_characters(store):
    name = "Acme-Store-With-A-Very-Long-Name-2026"
    record = create(store, name=name)
    assert record.id == "acme-store-with-a-very-long-na"
    assert read(store, "workspace_record", "acme-store-with-a-very-long-na").display_name == name  # kept as sent
    assert create(store, name="Short-ONE").id == "short-one"


@settings(max_examples=200)
@given(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=100))
def test_the_id_of_any_allowed_display_name_is_its_lower_case_prefix_of_at_most_30(name):
    derived = workspaces.workspace_id_for(name)
    assert len(derived) == min(30, len(name))
    assert derived == derived.lower() and name.lower().startswith(derived)
    assert workspaces.workspace_id_for(name.swapcase()) == derived  # case never tells two ids apart
    if len(name) >= 30:
        assert workspaces.workspace_id_for(name[:30] + "-more") == derived  # nor what follows the 30th


def test_a_workspace_is_created_on_the_partners_plan_with_an_owner_taking_one_seat(store):
    created = create(store, name="New-Team", seats=3)
    assert (created.id, created.partner_id, created.display_name, created.plan_id) == ("new-team", "p1", "New-Team",
                                                                                      P1_PLAN.id)
    assert (created.seats_purchased, created.seats_used, created.seats_available) == (3, 1, 2)
    assert (created.group_id, created.owner_user_id) == (FIRST_GROUP_ID, FIRST_USER_ID)
    assert created.created_at == created.updated_at == T0
    assert created.suspended == ()
    assert read(store, "workspace_record", "new-team") == created
    assert read(store, "members", "new-team") == [
        Member(FIRST_USER_ID, f"Owner {FIRST_USER_ID}", "owner", f"{FIRST_USER_ID}-new-team@partners.timelines.ai",
               "active", T0)]
    assert read(store, "workspace", "new-team").billing_managed is False
    assert create(store, name="Other", partner="p2").plan_id == P2_PLAN.id


def test_a_new_workspace_starts_with_the_plans_non_recurring_balance_and_no_use(store):
    create(store, name="New-Team")
    got = details(store, workspace="new-team")
    assert (got.usage.messages, got.usage.api_calls, got.usage.non_recurring_balance) == (0, 0, P1_PLAN.non_recurring)
    assert got.plan == P1_PLAN


def test_group_ids_and_user_ids_come_from_the_service_wide_counters(store):
    first = create(store, name="A")
    _, agents = add_users(store, 1, workspace="team")
    second = create(store, name="B", partner="p2")
    assert (first.group_id, first.owner_user_id) == (FIRST_GROUP_ID, FIRST_USER_ID)
    assert [m.user_id for m in agents] == [FIRST_USER_ID + 1]
    assert (second.group_id, second.owner_user_id) == (FIRST_GROUP_ID + 1, FIRST_USER_ID + 2)


@pytest.mark.parametrize("partner, name", [("p1", "TEAM"), ("p2", "Team"), ("p1", "theirs")])
def test_a_taken_id_is_workspace_creation_failed_and_writes_nothing(store, partner, name):
    before = (read(store, "workspace_record", name.lower()), read(store, "members", name.lower()))
    with store.transaction() as tx:
        with pytest.raises(ApiError) as exc:
            workspaces.create_workspace(tx, partner_id=partner, display_name=name, seats_purchased=5, now=T0)
        assert (exc.value.code, exc.value.status) == ("workspace_creation_failed", 409)
        assert (tx.workspace_record(name.lower()), tx.members(name.lower())) == before
        # no id was taken from the counters either: the next creation gets the first ones
        fresh = workspaces.create_workspace(tx, partner_id=partner, display_name="Fresh", seats_purchased=1, now=T0)
        assert (fresh.group_id, fresh.owner_user_id) == (FIRST_GROUP_ID, FIRST_USER_ID)


def test_a_creation_that_loses_the_race_for_its_id_is_refused_and_adds_no_owner(store):
    """The id looked free, but a concurrent creation inserted it first (add_workspace says so)."""
    before = read(store, "members", "theirs")
    with store.transaction() as tx:
        with pytest.raises(ApiError) as exc:
            workspaces.create_workspace(Hiding(tx, "workspace"), partner_id="p1", display_name="Theirs",
                                        seats_purchased=5, now=T0)
        assert exc.value.code == "workspace_creation_failed"
        assert tx.members("theirs") == before
        assert tx.workspace_record("theirs").partner_id == "p2"


# --- which workspaces a partner may manage -------------------------------------------------------

RULES = {
    "details": (workspaces.workspace_details, {}),
    "update": (workspaces.update_workspace, {"display_name": "X", "seats_purchased": 1}),
    "create_users": (workspaces.create_users, {"count": 1}),
    "simulate_usage": (workspaces.simulate_usage, {"kind": "messages", "amount": 1}),
}


@pytest.mark.parametrize("rule", RULES)
def test_another_partners_workspace_is_the_same_404_as_a_missing_one_and_stays_untouched(store, rule):
    function, arguments = RULES[rule]
    before = read(store, "workspace_record", "theirs"), read(store, "usage", "theirs")
    assert refusal(store, function, partner_id="p1", workspace_id="theirs", now=T0, **arguments) == (
        "workspace_not_found", 404)
    assert refusal(store, function, partner_id="p1", workspace_id="nope", now=T0, **arguments) == (
        "workspace_not_found", 404)
    assert (read(store, "workspace_record", "theirs"), read(store, "usage", "theirs")) == before


@pytest.mark.parametrize("rule", RULES)
def test_a_billing_managed_workspace_is_refused(store, rule):
    function, arguments = RULES[rule]
    before = read(store, "workspace_record", "billed"), read(store, "members", "billed")
    assert refusal(store, function, partner_id="p1", workspace_id="billed", now=T0, **arguments) == (
        "workspace_billing_managed", 403)
    assert refusal(store, function, partner_id="p2", workspace_id="billed", now=T0, **arguments) == (
        "workspace_not_found", 404)
    assert (read(store, "workspace_record", "billed"), read(store, "members", "billed")) == before


# --- users: all or nothing against the seats -----------------------------------------------------

def test_users_are_created_as_active_agents_one_seat_each(store):
    update(store, seats=6)  # 3 of 6 in use
    later = T0 + timedelta(minutes=5)
    record, created = add_users(store, 2, now=later)
    ids = [FIRST_USER_ID, FIRST_USER_ID + 1]
    expected = [Member(i, f"Agent {i}", "agent", f"{i}-team@partners.timelines.ai", "active", later) for i in ids]
    assert created == expected
    assert (record.seats_purchased, record.seats_used, record.seats_available) == (6, 5, 1)
    stored = [m for m in read(store, "members", "team") if m.user_id in ids]
    assert stored == expected


def test_more_users_than_free_seats_is_seats_full_and_none_is_created(store):
    """`team` has one free seat: two users are refused whole."""
    before = read(store, "members", "team")
    with store.transaction() as tx:
        with pytest.raises(ApiError) as exc:
            workspaces.create_users(tx, partner_id="p1", workspace_id="team", count=2, now=T0)
        assert (exc.value.code, exc.value.status) == ("seats_full", 409)
        assert tx.members("team") == before  # refused before anything was written
        assert tx.workspace_record("team").seats_available == 1
    _, created = add_users(store, 1)  # exactly the free seats: fine, and no user id was used up
    assert [m.user_id for m in created] == [FIRST_USER_ID]
    assert refusal(store, workspaces.create_users, partner_id="p1", workspace_id="team", count=1, now=T0) == (
        "seats_full", 409)


@settings(max_examples=40, deadline=None)
@given(seats=st.integers(1, 8),
       steps=st.lists(st.one_of(st.tuples(st.just("users"), st.integers(1, 6)),
                                st.tuples(st.just("seats"), st.integers(1, 8))), min_size=1, max_size=10))
def test_seat_arithmetic_follows_the_model(seats, steps):
    """Any sequence of user creations and seat changes on a new workspace: a creation succeeds
    exactly when the seats are free, a downgrade suspends the newest agents until the active users
    fit (never the owner), an upgrade brings no one back, and the seats add up."""
    with sqlite_store() as s:
        now = T0
        create(s, name="Prop", seats=seats, now=now)
        owner = FIRST_USER_ID
        active: list[int] = []  # agents, oldest first
        suspended: set[int] = set()
        next_id = FIRST_USER_ID + 1
        for kind, n in steps:
            now += timedelta(seconds=1)
            if kind == "users":
                free = seats - 1 - len(active)
                if n <= free:
                    _, made = add_users(s, n, workspace="prop", now=now)
                    assert [m.user_id for m in made] == list(range(next_id, next_id + n))
                    active += [m.user_id for m in made]
                    next_id += n
                else:
                    assert refusal(s, workspaces.create_users, partner_id="p1", workspace_id="prop", count=n,
                                   now=now) == ("seats_full", 409)
            else:
                excess = max(0, 1 + len(active) - n)
                expected = list(reversed(active))[:excess]
                record = update(s, workspace="prop", seats=n, now=now)
                assert [x.user_id for x in record.suspended] == expected
                active = active[:len(active) - excess]
                suspended |= set(expected)
                seats = n
            record = read(s, "workspace_record", "prop")
            assert (record.seats_purchased, record.seats_used) == (seats, 1 + len(active))
            assert record.seats_available == max(0, seats - 1 - len(active))
            assert statuses(s, "prop") == {owner: "active", **dict.fromkeys(active, "active"),
                                           **dict.fromkeys(suspended, "suspended")}


# --- rename and seat changes -----------------------------------------------------------------------

def test_a_rename_keeps_the_id_and_the_seats(store):
    later = T0 + timedelta(hours=1)
    record = update(store, name="Renamed-Team", now=later)
    assert (record.id, record.display_name, record.seats_purchased, record.seats_used) == ("team", "Renamed-Team", 4, 3)
    assert record.updated_at == later and record.created_at == T0
    assert record.suspended == ()
    assert read(store, "workspace_record", "team") == record
    assert read(store, "workspace", "renamed-team") is None


def test_an_empty_update_changes_nothing_not_even_updated_at(store):
    before = read(store, "workspace_record", "team")
    record = update(store, now=T0 + timedelta(hours=1))
    assert record == before and record.updated_at == T0
    assert read(store, "workspace_record", "team") == before


def test_raising_the_seats_suspends_nobody(store):
    record = update(store, seats=10)
    assert (record.seats_purchased, record.seats_available, record.suspended) == (10, 7, ())
    assert statuses(store) == {1: "active", 2: "active", 3: "active", 4: "suspended"}


def test_a_downgrade_suspends_the_newest_agent_and_revokes_its_link(store):
    """Agents 2 and 3 were created together: the higher id is the newer."""
    record = update(store, seats=2)
    assert record.suspended == (Suspension(3, None, ()),)
    assert (record.seats_purchased, record.seats_used, record.seats_available) == (2, 2, 0)
    assert statuses(store) == {1: "active", 2: "active", 3: "suspended", 4: "suspended"}
    link = read(store, "links", "team", 3, 10)[0]
    assert (link.status, link.closed_at) == ("revoked", T0)
    assert read(store, "links", "team", 2, 10)[0].status == "active"  # the one left active keeps its link
    assert accounts.DISCONNECTED not in event_types(store)  # agent 3 had no WhatsApp to disconnect


def test_a_downgrade_to_one_seat_keeps_only_the_owner_and_disconnects_the_suspended_whatsapp(store):
    later = T0 + timedelta(hours=2, milliseconds=345)  # agent 2's one-hour link has expired by now
    record = update(store, seats=1, now=later)
    assert record.suspended == (Suspension(3, None, ()), Suspension(2, 20, ("+15550000002",)))
    assert (record.seats_used, record.seats_available, record.owner_user_id) == (1, 0, 1)
    assert statuses(store) == {1: "active", 2: "suspended", 3: "suspended", 4: "suspended"}

    account = read(store, "account", "team", 2)
    assert (account.connected, account.disconnected_at) == (False, later)
    assert read(store, "user", "team", 2).whatsapp_connected is False
    assert read(store, "links", "team", 2, 10)[0].status == "expired"  # closed, as what it was by now
    assert read(store, "links", "team", 3, 10)[0].status == "revoked"
    assert read(store, "open_links", "team") == []

    [disconnected] = [e for e in events(store) if e["event_type"] == accounts.DISCONNECTED]
    assert disconnected == {
        "workspace_id": "team", "event_type": accounts.DISCONNECTED, "partner_id": "p1",
        "triggered_at": "2026-01-15T14:00:00.468Z", "whatsapp_account_id": 20, "phone_number_e164": "+15550000002",
        "user_id": 2, "disconnected_at": "2026-01-15T14:00:00.468Z",
        "reason": "(user suspended: the workspace's seats were lowered)"}


def test_the_owner_is_never_suspended_even_when_it_is_the_newest_user(store):
    """A test clock set back: the agents are created before the owner, yet they go first."""
    create(store, name="Back", seats=3, now=T0 + timedelta(hours=1))
    _, agents = add_users(store, 2, workspace="back", now=T0)
    record = update(store, workspace="back", seats=1, now=T0 + timedelta(hours=2))
    assert [s.user_id for s in record.suspended] == [agents[1].user_id, agents[0].user_id]
    assert statuses(store, "back") == {FIRST_USER_ID: "active", agents[0].user_id: "suspended",
                                       agents[1].user_id: "suspended"}
    assert (record.owner_user_id, record.seats_used) == (FIRST_USER_ID, 1)


def test_newest_means_the_latest_creation_time_before_the_highest_id(store):
    """A test clock set back: the users created second (higher id) are the older ones."""
    update(store, seats=6)
    _, late = add_users(store, 1, now=T0 + timedelta(hours=2))
    _, early = add_users(store, 1, now=T0 + timedelta(hours=1))
    assert late[0].user_id < early[0].user_id
    record = update(store, seats=4, now=T0 + timedelta(hours=3))
    assert [s.user_id for s in record.suspended] == [late[0].user_id]
    record = update(store, seats=3, now=T0 + timedelta(hours=3))
    assert [s.user_id for s in record.suspended] == [early[0].user_id]


def test_raising_the_seats_again_brings_no_suspended_user_back(store):
    update(store, seats=1)
    record = update(store, seats=4)
    assert (record.suspended, record.seats_used, record.seats_available) == ((), 1, 3)
    assert statuses(store) == {1: "active", 2: "suspended", 3: "suspended", 4: "suspended"}


def test_already_suspended_users_take_no_seat_and_are_not_suspended_again(store):
    record = update(store, seats=3)  # 3 active of 3: nobody to suspend (agent 4 was already)
    assert (record.suspended, record.seats_used, record.seats_available) == ((), 3, 0)


# --- details and usage ---------------------------------------------------------------------------

def test_details_show_seats_members_accounts_plan_and_the_active_links(store):
    got = details(store, now=T0 + timedelta(hours=2))  # agent 2's one-hour link has expired
    assert (got.workspace.seats_purchased, got.workspace.seats_used, got.workspace.seats_available) == (4, 3, 1)
    assert got.plan == P1_PLAN
    assert [m.user_id for m in got.members] == [1, 2, 3, 4]
    assert [(user, acc.account_id, acc.connected) for user, acc in got.accounts] == [(2, 20, True)]
    assert [(user, expires) for user, _, expires in got.links] == [(3, T0_SECONDS + timedelta(hours=24))]
    assert got.links[0][1] == read(store, "open_links", "team")[1][1]  # the raw token, for the link's URL
    assert [user for user, _, _ in details(store, now=T0).links] == [2, 3]


def test_details_show_the_use_of_the_current_billing_period(store):
    use(store, "messages", 30)
    use(store, "api_calls", 7)
    got = details(store, now=T0 + timedelta(days=3))
    assert (got.usage.period_start, got.usage.period_end) == (datetime(2026, 1, 1, tzinfo=UTC), FEB)
    assert (got.usage.messages, got.usage.api_calls, got.usage.non_recurring_balance) == (30, 7, 5)


def test_the_period_rolls_over_at_the_first_of_the_month_utc_and_resets_the_counters_only(store):
    use(store, "messages", 30)
    use(store, "api_calls", 7)
    use(store, "transactions", 2)
    last_instant = details(store, now=FEB - timedelta(microseconds=1)).usage
    assert (last_instant.messages, last_instant.api_calls, last_instant.period_end) == (30, 7, FEB)
    # 00:30 on February 1st at UTC+1 is still January 31st at UTC
    east = details(store, now=datetime(2026, 2, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))).usage
    assert (east.messages, east.period_start) == (30, datetime(2026, 1, 1, tzinfo=UTC))
    rolled = details(store, now=FEB).usage
    assert (rolled.period_start, rolled.period_end) == (FEB, datetime(2026, 3, 1, tzinfo=UTC))
    assert (rolled.messages, rolled.api_calls) == (0, 0)
    assert (rolled.non_recurring_balance, rolled.non_recurring_updated_at) == (3, T0)  # non-recurring: it stays


def test_the_december_period_ends_on_the_first_of_january(store):
    usage = details(store, now=datetime(2026, 12, 31, 23, 59, tzinfo=UTC)).usage
    assert (usage.period_start, usage.period_end) == (datetime(2026, 12, 1, tzinfo=UTC),
                                                      datetime(2027, 1, 1, tzinfo=UTC))


def test_simulated_messages_and_api_calls_count_up_in_the_period(store):
    assert use(store, "messages", 12).usage.messages == 12
    got = use(store, "messages", 5, now=T0 + timedelta(days=1))
    assert (got.usage.messages, got.usage.api_calls) == (17, 0)
    got = use(store, "api_calls", 3)
    assert (got.usage.messages, got.usage.api_calls) == (17, 3)
    assert read(store, "usage", "team") == (datetime(2026, 1, 1, tzinfo=UTC), 17, 3, 5, T0)


def test_simulated_transactions_spend_the_balance_never_below_zero(store):
    later = T0 + timedelta(hours=1)
    got = use(store, "transactions", 2, now=later)
    assert (got.usage.non_recurring_balance, got.usage.non_recurring_updated_at) == (3, later)
    assert (got.usage.messages, got.usage.api_calls) == (0, 0)
    assert use(store, "transactions", 10).usage.non_recurring_balance == 0
    assert read(store, "usage", "team")[3] == 0


def test_use_in_a_new_period_starts_from_zero(store):
    use(store, "messages", 40)
    use(store, "api_calls", 9)
    got = use(store, "messages", 2, now=FEB + timedelta(days=2))
    assert (got.usage.period_start, got.usage.messages, got.usage.api_calls) == (FEB, 2, 0)
    assert read(store, "usage", "team")[:3] == (FEB, 2, 0)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(workspaces.USAGE_KINDS), st.integers(0, 40), st.integers(0, 20)),
                min_size=1, max_size=12))
def test_usage_follows_the_model_across_periods(steps):
    """Any sequence of uses, each some days after the last: messages and API calls count in their
    month only; the balance only goes down, to zero at most."""
    with sqlite_store() as s:
        now, month, messages, calls, balance = T0, None, 0, 0, P1_PLAN.non_recurring
        for kind, amount, days in steps:
            now += timedelta(days=days)
            if (now.year, now.month) != month:
                month, messages, calls = (now.year, now.month), 0, 0
            if kind == "messages":
                messages += amount
            elif kind == "api_calls":
                calls += amount
            else:
                balance = max(0, balance - amount)
            usage = use(s, kind, amount, now=now).usage
            assert (usage.messages, usage.api_calls, usage.non_recurring_balance) == (messages, calls, balance)
            assert usage.period_start == datetime(now.year, now.month, 1, tzinfo=UTC)

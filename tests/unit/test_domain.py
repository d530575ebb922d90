"""The issuance rules, run on a real in-memory SQLite store with an injected clock and token source."""

from __future__ import annotations

from datetime import datetime, timedelta, UTC

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_sandbox import redaction
from partner_sandbox.domain import accounts, links, model, pairing
from partner_sandbox.domain import clock as clocks
from partner_sandbox.errors import ApiError
from partner_sandbox.fixtures import parse_world
from partner_sandbox.store import SqliteStore

WORLD = parse_world(
    """
partners:
  - id: p1
    secret: p1-secret-that-is-long-enough-000000
    workspaces:
      - id: w1
        users:
          - id: 1
          - id: 2
            whatsapp: {account_id: 20, phone_number_e164: "+15550000002"}
          - id: 3
            active_link: {expires_in_hours: 1}
          - id: 5
            status: suspended
      - id: w3
        billing_managed: true
        users: [{id: 4}]
      - id: w4
        users: [{id: 6}]
  - id: p2
    secret: p2-secret-that-is-long-enough-000000
    workspaces:
      - id: w2
        users: [{id: 11}]
""",
    "test",
)
T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
ROTATION = timedelta(seconds=45)


class FakeClock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(open_store):
    """The rules run on both backends: SQLite in memory, and a fresh PostgreSQL database."""
    return open_store(WORLD, T0)


def issue(store, clock, user=1, hours=24, partner="p1", workspace="w1", tokens=None):
    new_token = (lambda: next(tokens)) if tokens else links.new_link_token
    with store.transaction() as tx:
        return links.issue_qr_link(tx, partner_id=partner, workspace_id=workspace, user_id=user,
                                    expires_in_hours=hours, clock=clock, new_token=new_token)


def active_links(store, workspace="w1", user=1) -> int:
    with store.transaction() as tx:
        return sum(link.status == "active" for link in tx.links(workspace, user, 100))


def test_fresh_user_gets_a_link_expiring_after_the_hours(store):
    clock = FakeClock(T0 + timedelta(microseconds=123456))
    issued = issue(store, clock, hours=5, tokens=iter(["the-token-value-000000000"]))
    assert issued.token == "the-token-value-000000000"
    assert issued.expires_at == T0 + timedelta(hours=5)  # whole seconds of the server clock
    assert (issued.previous_qr_revoked, issued.whatsapp_disconnected) == (False, False)
    assert clocks.rfc3339(issued.expires_at) == "2026-01-01T17:00:00Z"


def test_active_link_is_revoked(store):
    clock = FakeClock(T0)
    issue(store, clock)
    clock.now = T0 + timedelta(hours=23, minutes=59, seconds=59)
    assert issue(store, clock).previous_qr_revoked is True
    assert active_links(store) == 1


def test_expired_link_is_not_revoked_and_the_boundary_counts_as_expired(store):
    clock = FakeClock(T0)
    issue(store, clock, hours=1)
    clock.now = T0 + timedelta(hours=1)  # exactly at expires_at: no longer active
    assert issue(store, clock).previous_qr_revoked is False
    assert active_links(store) == 1
    with store.transaction() as tx:
        statuses = [link.status for link in reversed(tx.links("w1", 1, 100))]
    assert statuses == ["expired", "active"]


def test_fixture_link_is_active_until_its_expiry(store):
    assert issue(store, FakeClock(T0 + timedelta(minutes=59)), user=3).previous_qr_revoked is True


def test_fixture_link_past_its_expiry_is_not_revoked(store):
    assert issue(store, FakeClock(T0 + timedelta(hours=2)), user=3).previous_qr_revoked is False


def test_connected_account_is_disconnected_exactly_once(store):
    clock = FakeClock(T0)
    assert issue(store, clock, user=2).whatsapp_disconnected is True
    assert issue(store, clock, user=2).whatsapp_disconnected is False


def test_workspace_of_another_partner_and_unknown_workspace_are_the_same_problem(store):
    with pytest.raises(ApiError) as theirs:
        issue(store, FakeClock(T0), partner="p1", workspace="w2")
    with pytest.raises(ApiError) as missing:
        issue(store, FakeClock(T0), partner="p1", workspace="nope")
    assert theirs.value.code == missing.value.code == "workspace_not_found"
    assert theirs.value.status == 404


def code_of_issuing(store, **where) -> tuple[str, int]:
    with pytest.raises(ApiError) as exc:
        issue(store, FakeClock(T0), **where)
    return exc.value.code, exc.value.status


def test_unknown_user_and_another_partners_user_are_user_not_found(store):
    assert code_of_issuing(store, user=99) == ("user_not_found", 404)
    assert code_of_issuing(store, user=11) == ("user_not_found", 404)  # w2's, of p2


def test_a_user_of_another_of_the_partners_workspaces_is_user_not_in_workspace(store):
    assert code_of_issuing(store, user=6) == ("user_not_in_workspace", 404)
    assert code_of_issuing(store, user=1, workspace="w4") == ("user_not_in_workspace", 404)
    assert issue(store, FakeClock(T0), user=6, workspace="w4").user_id == 6


def test_a_billing_managed_workspace_is_out_of_reach(store):
    assert code_of_issuing(store, user=4, workspace="w3") == ("workspace_billing_managed", 403)
    assert code_of_issuing(store, user=4, workspace="w3", partner="p2") == ("workspace_not_found", 404)


def test_a_suspended_user_gets_no_link(store):
    assert code_of_issuing(store, user=5) == ("user_not_active", 403)
    with store.transaction() as tx:
        assert tx.links("w1", 5, 100) == []


def test_a_failed_issuance_changes_nothing(store):
    clock = FakeClock(T0)
    issue(store, clock, user=2)

    def broken_token():
        raise RuntimeError("token source failed")

    with pytest.raises(RuntimeError), store.transaction() as tx:
        links.issue_qr_link(tx, partner_id="p1", workspace_id="w1", user_id=2, expires_in_hours=1,
                             clock=clock, new_token=broken_token)
    assert issue(store, clock, user=2).previous_qr_revoked is True  # the earlier link survived the rollback


def test_the_store_refuses_a_second_active_link(store):
    import sqlite3

    import psycopg

    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)), store.transaction() as tx:
        tx.add_link("w1", 1, "digest-a", T0, T0 + timedelta(hours=1))
        tx.add_link("w1", 1, "digest-b", T0, T0 + timedelta(hours=1))
    assert active_links(store) == 0  # the transaction rolled back whole


def test_link_tokens_are_unguessable():
    tokens = {links.new_link_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in tokens:
        assert len(token) >= 22 and set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    import base64
    assert all(len(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))) * 8 >= 128 for t in tokens)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 200 * 3600), st.integers(1, 168)), min_size=1, max_size=12))
def test_previous_qr_revoked_is_true_exactly_when_the_last_link_is_still_active(steps):
    """Any sequence of issuances: the flag follows the model, and one link stays active."""
    s = SqliteStore(":memory:")
    s.seed_if_empty(WORLD, T0)
    clock = FakeClock(T0)
    model_expiry = None
    try:
        for gap, hours in steps:
            clock.now += timedelta(seconds=gap)
            issued = issue(s, clock, hours=hours)
            assert issued.previous_qr_revoked == (model_expiry is not None and clock.now < model_expiry)
            model_expiry = clock.now + timedelta(hours=hours)
            assert active_links(s) == 1
    finally:
        s.close()


# --- the test clock -----------------------------------------------------------------------------

REAL = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def test_clock_advance_set_freeze_and_real():
    state = clocks.change_clock(model.REAL_CLOCK, {"advance_seconds": 90}, REAL)
    assert state.now(REAL) == REAL + timedelta(seconds=90)
    assert state.now(REAL + timedelta(seconds=10)) == REAL + timedelta(seconds=100)  # it runs on

    state = clocks.change_clock(state, {"freeze": True}, REAL + timedelta(seconds=10))
    assert state.now(REAL + timedelta(hours=5)) == REAL + timedelta(seconds=100)  # it stands still
    state = clocks.change_clock(state, {"advance_seconds": 60}, REAL + timedelta(hours=5))
    assert state.now(REAL + timedelta(hours=6)) == REAL + timedelta(seconds=160)
    state = clocks.change_clock(state, {"set": "2030-01-01T00:00:00+01:00"}, REAL)
    assert state.now(REAL + timedelta(days=1)) == datetime(2029, 12, 31, 23, tzinfo=UTC)

    later = REAL + timedelta(hours=1)
    state = clocks.change_clock(state, {"freeze": False}, later)
    assert state.frozen_at is None and state.now(later) == datetime(2029, 12, 31, 23, tzinfo=UTC)
    assert state.now(later + timedelta(seconds=5)) == datetime(2029, 12, 31, 23, 0, 5, tzinfo=UTC)

    assert clocks.change_clock(state, {"real": True}, REAL) == model.REAL_CLOCK


def test_clock_refuses_to_leave_its_range():
    near_end = clocks.change_clock(model.REAL_CLOCK, {"set": "8999-12-31T00:00:00Z"}, REAL)
    with pytest.raises(ApiError) as exc:
        clocks.change_clock(near_end, {"advance_seconds": 2 * 86400}, REAL)
    assert exc.value.code == "clock_out_of_range" and exc.value.status == 409
    with pytest.raises(ApiError):
        clocks.change_clock(model.REAL_CLOCK, {"advance_seconds": -60 * 365 * 86400}, REAL)


def test_clock_state_survives_the_store(store):
    state = clocks.change_clock(model.REAL_CLOCK, {"freeze": True}, REAL)
    with store.transaction() as tx:
        tx.set_clock_state("p1", state)
    with store.transaction() as tx:
        assert tx.clock_state("p1") == state and tx.clock_state("p2") == model.REAL_CLOCK


def test_scan_uses_the_active_link_and_connects_a_stable_account(store):
    clock = FakeClock(T0)
    issue(store, clock, user=1)
    with store.transaction() as tx:
        account = pairing.scan_active_link(tx, partner_id="p1", workspace_id="w1", user_id=1, now=T0, period=ROTATION).account
    assert account == model.WhatsAppAccount(account.account_id, account.phone_number_e164, T0, None)
    assert account.phone_number_e164 == accounts.fake_account("w1", 1).phone_number_e164
    with store.transaction() as tx, pytest.raises(ApiError) as exc:
        pairing.scan_active_link(tx, partner_id="p1", workspace_id="w1", user_id=1, now=T0, period=ROTATION)
    assert exc.value.code == "no_active_link"
    assert issue(store, clock, user=1).whatsapp_disconnected is True


def test_scan_keeps_a_fixture_account(store):
    clock = FakeClock(T0)
    issue(store, clock, user=2)  # disconnects the fixture account
    with store.transaction() as tx:
        account = pairing.scan_active_link(tx, partner_id="p1", workspace_id="w1", user_id=2, now=T0, period=ROTATION).account
    assert (account.account_id, account.phone_number_e164) == (20, "+15550000002")


def test_link_tokens_are_redacted_from_text():
    text = '{"qr_link": "http://h:8080/qr/abcDEF_-123"} GET /qr/xyz/scan'
    assert redaction.redact_link_tokens(text) == '{"qr_link": "http://h:8080/qr/<redacted>"} GET /qr/<redacted>/scan'


# --- webhook events and their outbox -----------------------------------------------------------

def test_events_are_written_with_the_change_and_never_for_a_no_op(store):
    clock = FakeClock(T0)
    with store.transaction() as tx:
        tx.set_webhook("p1", "http://127.0.0.1:9/hooks")
    issue(store, clock, user=1)  # no account: no event
    issue(store, clock, user=2)  # disconnects the fixture account
    with store.transaction() as tx:
        pairing.scan_active_link(tx, partner_id="p1", workspace_id="w1", user_id=2, now=T0, period=ROTATION)
    issue(store, clock, user=2)  # disconnects again
    with store.transaction() as tx:
        log = tx.deliveries("p1", 10)
    assert [d.body["event_type"] for d in reversed(log)] == [
        accounts.DISCONNECTED, accounts.CONNECTED, accounts.DISCONNECTED]
    first = log[-1].body
    assert (first["whatsapp_account_id"], first["phone_number_e164"], first["user_id"]) == (20, "+15550000002", 2)
    assert first["disconnected_at"] == first["triggered_at"] == "2026-01-01T12:00:00.000Z"


def test_a_disconnection_event_keeps_the_milliseconds_of_the_change(store):
    with store.transaction() as tx:
        tx.set_webhook("p1", "http://127.0.0.1:9/hooks")
    issue(store, FakeClock(T0 + timedelta(milliseconds=622)), user=2)
    with store.transaction() as tx:
        assert tx.deliveries("p1", 1)[0].body["disconnected_at"] == "2026-01-01T12:00:00.622Z"


def test_a_failed_change_writes_no_event(store):
    with store.transaction() as tx:
        tx.set_webhook("p1", "http://127.0.0.1:9/hooks")
    with pytest.raises(RuntimeError), store.transaction() as tx:
        links.issue_qr_link(tx, partner_id="p1", workspace_id="w1", user_id=2, expires_in_hours=1,
                             clock=FakeClock(T0), new_token=lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    with store.transaction() as tx:
        assert tx.deliveries("p1", 10) == []


def test_events_of_one_user_are_claimed_one_at_a_time_and_once(store):
    clock = FakeClock(T0)
    with store.transaction() as tx:
        tx.set_webhook("p1", "http://127.0.0.1:9/hooks")
    issue(store, clock, user=2)
    with store.transaction() as tx:
        pairing.scan_active_link(tx, partner_id="p1", workspace_id="w1", user_id=2, now=T0, period=ROTATION)
    with store.transaction() as tx:
        claimed = tx.claim_events(1000.0, 60, 10)
        assert [json.loads(c.body)["event_type"] for c in claimed] == [accounts.DISCONNECTED]  # the older first
        assert tx.claim_events(1000.0, 60, 10) == []  # leased: nobody else takes it
        tx.record_attempt(claimed[0].row, T0, 204, None, 1.0, "delivered")
        nxt = tx.claim_events(1000.0, 60, 10)
    assert [json.loads(c.body)["event_type"] for c in nxt] == [accounts.CONNECTED]


def test_backoff_doubles_with_jitter():
    from partner_sandbox.webhooks.delivery import Deliverer

    low = Deliverer(None, lambda _: None, max_attempts=5, backoff=1.0, timeout=1, random_fraction=lambda: 0.0)
    high = Deliverer(None, lambda _: None, max_attempts=5, backoff=1.0, timeout=1, random_fraction=lambda: 1.0)
    assert [low.delay(n) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
    assert [high.delay(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert high.delay(30) == 300.0  # capped

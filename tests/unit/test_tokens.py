"""A workspace's Public API token (domain/tokens.py): created on first read, the same until rotated,
a rotation invalidates the previous token at once, and a token opens only its partner's workspace.
On a real store (SQLite in memory and PostgreSQL) with injected token sources."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from partner_sandbox.domain import tokens, workspaces
from partner_sandbox.domain.links import token_digest

from tests.unit.workspace_world import T0, WORLD, Hiding, read, refusal, run


@pytest.fixture
def store(open_store):
    """The rules run on both backends: SQLite in memory, and a fresh PostgreSQL database."""
    return open_store(WORLD, T0)

A, B, C = "token-a-000000000000000000", "token-b-000000000000000000", "token-c-000000000000000000"


def no_new_token() -> str:
    raise AssertionError("no new token was to be made")


def current(store, workspace="team", partner="p1", new_token=no_new_token, now=T0):
    return run(store, tokens.current_token, partner_id=partner, workspace_id=workspace, now=now, new_token=new_token)


def rotate(store, token, workspace="team", partner="p1", now=T0):
    return run(store, tokens.rotate_token, partner_id=partner, workspace_id=workspace, now=now,
               new_token=lambda: token)


def opens(store, token, partner="p1"):
    return run(store, tokens.token_workspace, partner_id=partner, token=token)


def test_the_first_read_creates_the_token(store):
    assert read(store, "api_token", "team") is None
    assert current(store, new_token=lambda: A) == tokens.PublicToken("team", A, None)
    assert read(store, "api_token", "team") == A
    assert opens(store, A) == "team"


def test_later_reads_give_the_same_token_and_make_no_new_one(store):
    current(store, new_token=lambda: A)
    assert current(store, now=T0 + timedelta(days=40)) == tokens.PublicToken("team", A, None)


def test_each_workspace_has_a_token_of_its_own(store):
    run(store, workspaces.create_workspace, partner_id="p1", display_name="Second", seats_purchased=1, now=T0)
    current(store, new_token=lambda: A)
    assert current(store, workspace="second", new_token=lambda: B).token == B
    assert (opens(store, A), opens(store, B)) == ("team", "second")


def test_two_first_reads_at_once_get_the_token_stored_first(store):
    """A read that saw no token while a concurrent one stored its own: the stored one is answered."""
    current(store, new_token=lambda: A)
    with store.transaction() as tx:
        raced = tokens.current_token(Hiding(tx, "api_token"), partner_id="p1", workspace_id="team", now=T0,
                                     new_token=lambda: B)
    assert raced == tokens.PublicToken("team", A, None)
    assert read(store, "api_token", "team") == A
    assert opens(store, B) is None


def test_a_rotation_gives_a_new_token_and_the_previous_stops_at_once(store):
    current(store, new_token=lambda: A)
    later = T0 + timedelta(hours=3)
    assert rotate(store, B, now=later) == tokens.PublicToken("team", B, later)
    assert (opens(store, A), opens(store, B)) == (None, "team")
    assert current(store) == tokens.PublicToken("team", B, None)  # reads give the new one (with no rotated_at)


def test_every_rotation_rotates_again(store):
    current(store, new_token=lambda: A)
    rotate(store, B)
    assert rotate(store, C, now=T0 + timedelta(seconds=1)).token == C
    assert [opens(store, t) for t in (A, B, C)] == [None, None, "team"]


def test_a_rotation_before_any_read_creates_the_token(store):
    assert rotate(store, A) == tokens.PublicToken("team", A, T0)
    assert current(store).token == A and opens(store, A) == "team"


def test_rotated_at_is_the_moment_of_the_rotation(store):
    moment = T0 + timedelta(days=2, microseconds=654321)
    assert rotate(store, A, now=moment).rotated_at == moment


def test_a_token_opens_only_its_partners_workspace(store):
    current(store, new_token=lambda: A)
    current(store, workspace="theirs", partner="p2", new_token=lambda: B)
    assert (opens(store, A, "p1"), opens(store, A, "p2")) == ("team", None)
    assert (opens(store, B, "p2"), opens(store, B, "p1")) == ("theirs", None)


def test_an_unknown_token_opens_nothing(store):
    current(store, new_token=lambda: A)
    assert opens(store, "never-issued-token-0000000") is None
    assert opens(store, "") is None
    assert opens(store, token_digest(A)) is None  # the stored digest is no token


@pytest.mark.parametrize("rule", [tokens.current_token, tokens.rotate_token])
def test_another_partners_or_a_billing_managed_workspace_has_no_token_to_give(store, rule):
    for partner, workspace, refused in [("p1", "theirs", ("workspace_not_found", 404)),
                                        ("p1", "nope", ("workspace_not_found", 404)),
                                        ("p1", "billed", ("workspace_billing_managed", 403))]:
        assert refusal(store, rule, partner_id=partner, workspace_id=workspace, now=T0, new_token=lambda: A) == refused
    assert [read(store, "api_token", w) for w in ("theirs", "billed")] == [None, None]
    assert opens(store, A, "p2") is None


def test_the_default_tokens_are_unguessable_and_never_repeat(store):
    made = []
    for workspace, partner in (("team", "p1"), ("theirs", "p2")):
        made.append(run(store, tokens.current_token, partner_id=partner, workspace_id=workspace, now=T0).token)
    made.append(run(store, tokens.rotate_token, partner_id="p1", workspace_id="team", now=T0).token)
    assert len(set(made)) == 3
    for token in made:
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    assert opens(store, made[2]) == "team" and opens(store, made[0]) is None

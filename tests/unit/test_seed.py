"""Seeding writes each fixture user as the rest of the store writes a member (workspaces.member_row of
its Member), on both backends, whether the world is seeded or a partner's part of it reset; the
next user id starts past every fixture user, at 100000 at least."""

from __future__ import annotations

from datetime import datetime, UTC

from partner_sandbox.domain.model import Member
from partner_sandbox.domain.workspaces import display_name_for, system_email
from partner_sandbox.fixtures import load_world, parse_world
from partner_sandbox.store.workspaces import member_row

from tests.helpers import TEST_WORLD

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
COLUMNS = ["workspace_id", "user_id", "status", "role", "display_name", "email", "created_at"]


def expected_rows(world) -> list[dict]:
    return sorted((member_row(ws.id, Member(user.id, display_name_for(user.role, user.id), user.role,
                                            system_email(user.id, ws.id), user.status, NOW))
                   for partner in world.partners for ws in partner.workspaces for user in ws.users),
                  key=lambda row: row["user_id"])


def stored_rows(store) -> list[dict]:
    with store.transaction() as tx:
        rows = tx._conn.execute(f"SELECT {', '.join(COLUMNS)} FROM users ORDER BY user_id").fetchall()
        return [{name: row[name] for name in COLUMNS} for row in rows]


def next_user_id(store) -> int:
    with store.transaction() as tx:
        return tx._conn.execute("SELECT value FROM counters WHERE name = 'user_id'").fetchone()["value"]


def test_every_fixture_user_is_stored_as_a_member_row(open_store):
    world = load_world(TEST_WORLD)
    store = open_store(world, NOW)
    assert stored_rows(store) == expected_rows(world)
    assert len(stored_rows(store)) == sum(len(ws.users) for p in world.partners for ws in p.workspaces)
    # A partner's reset puts the same rows back.
    with store.transaction() as tx:
        for partner in world.partners:
            tx.reset_partner(partner, NOW)
    assert stored_rows(store) == expected_rows(world)


def test_user_ids_handed_out_start_past_the_fixture_users(open_store):
    world = parse_world("partners:\n  - {id: p, secret: p-secret-that-is-long-enough-0000000, workspaces: [\n"
                        "      {id: w, users: [{id: 1}, {id: 250000, role: owner}, {id: 7, status: suspended}]}]}\n",
                        "world.yaml")
    store = open_store(world, NOW)
    assert next_user_id(store) == 250_001
    assert [(r["user_id"], r["role"], r["status"]) for r in stored_rows(store)] == [
        (1, "agent", "active"), (7, "agent", "suspended"), (250000, "owner", "active")]


def test_a_world_without_users_hands_out_ids_from_100000(open_store):
    world = parse_world("partners:\n  - {id: p, secret: p-secret-that-is-long-enough-0000000, workspaces: []}\n",
                        "world.yaml")
    store = open_store(world, NOW)
    assert next_user_id(store) == 100_000
    assert stored_rows(store) == []

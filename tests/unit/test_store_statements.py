"""The store's statements as compiled: constants written in as literals, so that SQLite uses the
partial index of active links, on both dialects."""

from __future__ import annotations

import pytest

from partner_sandbox.store import SqliteStore, links, outbox, workspaces
from partner_sandbox.store.statements import statements_for


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_constants_are_literals_and_only_the_callers_values_are_parameters(dialect):
    open_link = statements_for(dialect)[links._open_link]
    assert open_link.sql.endswith("links.status = 'active'") and open_link.constants == {}
    add_link = statements_for(dialect)[links._add_link]
    assert "'active'" in add_link.sql
    redeliver = statements_for(dialect)[outbox._redeliver]
    assert "status='pending', round_attempts=0, next_attempt_at=0" in redeliver.sql


def test_sqlite_finds_a_users_active_link_by_the_partial_index():
    store = SqliteStore(":memory:")
    try:
        sql = statements_for("sqlite")[links._open_link].sql
        with store.transaction() as tx:
            plan = tx._conn.execute("EXPLAIN QUERY PLAN " + sql, {"workspace_id": "w", "user_id": 1}).fetchall()
        assert any("one_active_link_per_user" in row["detail"] for row in plan), [row["detail"] for row in plan]
    finally:
        store.close()


def test_sqlite_counts_seats_and_finds_the_owner_on_the_partial_indexes_of_users():
    store = SqliteStore(":memory:")
    try:
        sql = statements_for("sqlite")[workspaces._workspace_record].sql
        with store.transaction() as tx:
            plan = [row["detail"] for row in tx._conn.execute("EXPLAIN QUERY PLAN " + sql, {"workspace_id": "w"})]
        assert any("users_active" in detail for detail in plan), plan
        assert any("users_owners" in detail for detail in plan), plan
    finally:
        store.close()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_constant_with_a_percent_or_a_list_stays_a_parameter(dialect):
    from sqlalchemy import select

    from partner_sandbox.store.schema import links as links_table

    statements = statements_for(dialect)
    odd = statements.compile(select(links_table.c.id).where(links_table.c.status == "50%",
                                                            links_table.c.user_id.in_([1, 2])))
    assert "50%" not in odd.sql and "50%" in odd.constants.values(), odd

"""Unit-test fixtures: a seeded store on each backend."""

from __future__ import annotations

import pytest

from partner_sandbox.store import PostgresStore, SqliteStore


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request):
    """`open_store(world, now)`: a store seeded with `world` at `now` on the test's backend (SQLite in
    memory, or a fresh database of the session's PostgreSQL cluster); closed after the test."""
    opened = []

    def open_(world, now):
        if request.param == "sqlite":
            store = SqliteStore(":memory:")
        else:
            store = PostgresStore(request.getfixturevalue("postgres").new_database())
        opened.append(store)
        store.seed_if_empty(world, now)
        return store

    yield open_
    for store in opened:
        store.close()

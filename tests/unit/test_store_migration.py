"""A database written by an earlier sandbox (another schema version) is dropped and seeded again
from the fixtures, on both backends; a database of this version is kept as it is."""

from __future__ import annotations

import sqlite3
from datetime import datetime, UTC

import pytest

from partner_sandbox.fixtures import load_world
from partner_sandbox.resources import default_fixtures_path
from partner_sandbox.store import SCHEMA_VERSION, PostgresStore, SqliteStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# The first schema's partners, workspaces and users tables, a table since retired, and a world seeded
# into them.
EARLIER = [
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE partners (id TEXT PRIMARY KEY, secret TEXT NOT NULL)",
    "CREATE TABLE workspaces (id TEXT PRIMARY KEY, partner_id TEXT NOT NULL REFERENCES partners(id))",
    # A table this version does not have, referring to one it has: dropped too, and first.
    "CREATE TABLE retired (partner_id TEXT NOT NULL REFERENCES partners(id))",
    "CREATE TABLE users (workspace_id TEXT NOT NULL, user_id BIGINT NOT NULL, wa_account_id BIGINT, wa_phone TEXT,"
    " wa_connected_at TEXT, wa_disconnected_at TEXT, PRIMARY KEY (workspace_id, user_id))",
    "INSERT INTO meta (key, value) VALUES ('seeded_at', '2025-01-01T00:00:00Z')",
    "INSERT INTO partners (id, secret) VALUES ('old-partner', 'old-partner-secret-that-is-long-enough')",
    "INSERT INTO workspaces (id, partner_id) VALUES ('old-workspace', 'old-partner')",
    "INSERT INTO retired (partner_id) VALUES ('old-partner')",
    "INSERT INTO users (workspace_id, user_id) VALUES ('old-workspace', 1), ('old-workspace-2', 1)",
]


def open_sqlite(tmp_path):
    path = tmp_path / "sandbox.db"
    with sqlite3.connect(path) as conn:
        for statement in EARLIER:
            conn.execute(statement)
    return lambda: SqliteStore(path)


def open_postgres(tmp_path, postgres):
    import psycopg

    url = postgres.new_database()
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in EARLIER:
            conn.execute(statement)
    return lambda: PostgresStore(url)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_an_earlier_schema_is_replaced_and_seeded_again(backend, tmp_path, request):
    opener = open_sqlite(tmp_path) if backend == "sqlite" else open_postgres(tmp_path, request.getfixturevalue("postgres"))
    store = opener()
    try:
        assert store.seed_if_empty(load_world(default_fixtures_path()), NOW) is True
        partners = {p.id: p for p in store.partners()}
        assert "old-partner" not in partners and partners["inactive-partner"].active is False
        with store.transaction() as tx:
            assert tx.workspace("billed-workspace").billing_managed is True
            assert tx.user("my-first-workspace", 61).status == "suspended"
            assert tx._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()["value"] == SCHEMA_VERSION
            retired = ("SELECT 1 FROM sqlite_master WHERE name = 'retired'" if backend == "sqlite" else
                       "SELECT 1 FROM information_schema.tables WHERE table_name = 'retired'")
            assert tx._conn.execute(retired).fetchone() is None
    finally:
        store.close()
    reopened = opener()  # this version's database: kept, not seeded again
    try:
        assert reopened.seed_if_empty(load_world(default_fixtures_path()), NOW) is False
        assert "inactive-partner" in {p.id for p in reopened.partners()}
    finally:
        reopened.close()

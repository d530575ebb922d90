"""Durable sandbox state: the Store interface, and its SQLite and PostgreSQL implementations, whose
statements are written once in SQLAlchemy Core: the schema in schema.py, the statements in one
module per resource (workspaces, links, accounts, partners, journal, outbox, seed)."""

from __future__ import annotations

from datetime import datetime
from contextlib import AbstractContextManager
from typing import Protocol

from ..auth import Partner
from ..fixtures import World
from .errors import StoreUnavailable
from .journal import JOURNAL_LIMIT, JOURNAL_TRIM_EVERY
from .postgres import PostgresStore
from .schema import SCHEMA_VERSION
from .sqlite import SqliteStore
from .transaction import SqlTransaction

__all__ = ["JOURNAL_LIMIT", "JOURNAL_TRIM_EVERY", "SCHEMA_VERSION", "PostgresStore", "SqliteStore", "SqlTransaction",
           "Store", "StoreUnavailable", "open_store"]


class Store(Protocol):
    """What the app needs from a store; each transaction is atomic and isolated. `network`: its
    calls are network round trips, made off the event loop (offload.py). A local store (SqliteStore)
    also has `group()`, one transaction for many calls' transactions (group commit), and `reading()`,
    read-only transactions that wait for no writer; offload.StoreCalls uses both."""

    network: bool

    def transaction(self, *, durable: bool = True) -> AbstractContextManager[SqlTransaction]: ...

    def seed_if_empty(self, world: World, now: datetime, *, reset: bool = False) -> bool: ...

    def partners(self) -> list[Partner]: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


def open_store(db: str, *, durability: str = "normal") -> Store:
    """`postgresql://...` (or `postgres://...`) opens PostgreSQL; anything else is a SQLite file or :memory:."""
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresStore(db)
    return SqliteStore(db, durability=durability)

"""The PostgreSQL store, for several sandbox replicas behind a load balancer."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from collections.abc import Iterator

from ..auth import Partner
from ..fixtures import World
from .errors import unavailable
from .seed import migrate
from .statements import statements_for
from .transaction import SqlTransaction

MIGRATION_LOCK = 7_340_001  # pg_advisory_xact_lock key for schema changes and seeding
_LOCK_SQL = "SELECT pg_advisory_xact_lock(%(key)s)"


class PostgresStore:
    """The same statements as SQLite, compiled for PostgreSQL. A transaction runs at READ COMMITTED;
    a rule that changes a user starts by locking the user's row (SELECT ... FOR UPDATE), one that
    changes a workspace's seats the workspace's, which queues such changes across replicas; the
    partial unique index on active links backs the rule up. The schema is created (migrated) at
    start-up under an advisory lock, so replicas may start together."""

    network = True  # each call is a round trip: made in a worker thread (offload.py)
    concurrency = 16  # worker threads per process, each with a connection of its own when busy

    def __init__(self, url: str):
        self._url = url
        self._statements = statements_for("postgresql")
        self._idle: list[Any] = [self._connect()]  # connections not in a transaction, reused last-in first-out
        self._pool_lock = threading.Lock()
        self._closed = False
        with self._begin() as conn:
            conn.execute(_LOCK_SQL, {"key": MIGRATION_LOCK})
            migrate(conn, self._statements, "SELECT 1 FROM information_schema.tables"
                                            " WHERE table_schema = current_schema() AND table_name = 'meta'",
                    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()"
                    " AND table_type = 'BASE TABLE'")

    def _connect(self) -> Any:
        import psycopg
        from psycopg.rows import dict_row

        return psycopg.connect(self._url, autocommit=True, row_factory=dict_row)

    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """A connection of this thread's own for the block: an idle one, or a new one. A thread holds
        one for its transaction and, for a moment, one aside (WorkspaceRows.next_ids); at most
        `concurrency` idle ones are kept."""
        with self._pool_lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None or conn.closed or conn.broken:
            conn = self._connect()
        try:
            yield conn
        finally:
            with self._pool_lock:
                if self._closed or conn.closed or conn.broken or len(self._idle) >= self.concurrency:
                    conn.close()
                else:
                    self._idle.append(conn)

    @contextmanager
    def _begin(self) -> Iterator[Any]:
        with self._connection() as conn:
            conn.execute("BEGIN")
            try:
                yield conn
            except BaseException:
                if not conn.broken:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[SqlTransaction]:
        """One atomic transaction (PostgreSQL commits are always durable); a lost database is a 503,
        and the next transaction connects again."""
        import psycopg

        try:
            with self._begin() as conn:
                yield SqlTransaction(conn, self._statements, aside=self._connection)
        except psycopg.OperationalError as exc:
            raise unavailable(exc) from None

    def seed_if_empty(self, world: World, now: datetime, *, reset: bool = False) -> bool:
        with self._begin() as conn:
            conn.execute(_LOCK_SQL, {"key": MIGRATION_LOCK})
            return SqlTransaction(conn, self._statements).seed_if_empty(world, now, reset)

    def partners(self) -> list[Partner]:
        with self.transaction() as tx:
            return tx.partners()

    def ping(self) -> None:
        with self._connection() as conn:
            conn.execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

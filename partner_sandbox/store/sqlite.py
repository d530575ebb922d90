"""The SQLite store: WAL on files, one BEGIN IMMEDIATE transaction per call, or one for a group of
calls (group commit), each in a savepoint of its own."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO
from collections.abc import Iterator

from ..auth import Partner
from ..fixtures import World
from .errors import StoreUnavailable, unavailable
from .seed import migrate
from .statements import statements_for
from .transaction import SqlTransaction

SYNC_MODES = {"normal": "NORMAL", "full": "FULL"}


class SqliteStore:
    """`path` is a file path or ":memory:" (a process-private in-memory database). Each process keeps
    one connection; its threads take turns on it. SQLite's own write lock (BEGIN IMMEDIATE) is what
    makes a transaction atomic across processes. Writers also queue on a thread lock and, for a
    file, an flock on `<db>.lock`, so that they wait in line and are woken at once, instead of in
    SQLite's busy handler, which sleeps in steps of milliseconds under contention.

    `group()` is one transaction for many calls (offload.StoreCalls: the calls of one turn of the
    event loop): while it is open, each `transaction()` of the thread that opened it is a savepoint
    of it, which a failure rolls back alone. Whatever the group's calls stored is stored when the
    group commits, and not before: their answers wait for it.
    """

    network = False  # a local file: its calls run on the event loop (offload.py)

    def __init__(self, path: str | Path, *, durability: str = "normal"):
        if str(path) == ":memory:":
            target, is_file = ":memory:", False
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            target, is_file = str(Path(path).resolve()), True
        self._statements = statements_for("sqlite")
        self._conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout = 10000")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._sync = "OFF"  # an in-memory database has nothing to sync
        if is_file:
            self._conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL (in WAL mode): a commit survives the process being killed, fsync at checkpoints;
            # FULL: it also survives a power loss, at the price of an fsync per commit.
            self._sync = SYNC_MODES[durability]
            self._conn.execute(f"PRAGMA synchronous = {self._sync}")
        self._lock = threading.Lock()
        self._grouping: int | None = None  # the thread whose group is open: its transactions are savepoints
        self._reading: int | None = None  # the thread inside reading(): its transactions only read
        self._queue: IO[bytes] | None = open(f"{target}.lock", "a+b") if is_file else None  # noqa: SIM115
        with self._immediate() as conn:
            migrate(conn, self._statements, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        # The file this connection writes: deleted or replaced under a running server, its writes
        # would go to an unlinked file and be gone at the next start.
        self._file = target if is_file else None
        self._identity = _identity(target) if is_file else None

    def _check_file(self) -> None:
        if self._file is not None and _identity(self._file) != self._identity:
            raise StoreUnavailable("The database file was deleted or replaced while the sandbox ran; restart it to"
                                   " start from a new one")

    @contextmanager
    def _immediate(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._queue is not None:
                fcntl.flock(self._queue, fcntl.LOCK_EX)
            conn = self._conn
            relaxed = not durable and self._sync == "FULL"  # NORMAL does not fsync commits anyway
            try:
                if relaxed:
                    conn.execute("PRAGMA synchronous = OFF")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    # A failed COMMIT may leave the transaction open (SQLite: "may or may not" roll
                    # back), holding the write lock: it is rolled back, so the store goes on.
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                if relaxed:
                    conn.execute(f"PRAGMA synchronous = {self._sync}")
                if self._queue is not None:
                    fcntl.flock(self._queue, fcntl.LOCK_UN)

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[SqlTransaction]:
        """One atomic transaction. `durable=False` skips the fsync at commit, for records (the
        request journal) whose last moments may be lost to a power cut; the next durable commit
        syncs them too. A database that cannot be written (read-only, full, locked too long) is a
        503: the transaction rolled back, nothing was answered as stored. Inside this thread's
        open group, a savepoint of the group, stored when the group commits, as durably as the
        group is."""
        if self._grouping == threading.get_ident():
            with self._savepoint() as conn:
                yield SqlTransaction(conn, self._statements)
            return
        self._check_file()
        try:
            with self._read() if self._reading == threading.get_ident() else self._immediate(durable) as conn:
                yield SqlTransaction(conn, self._statements)
        except sqlite3.OperationalError as exc:
            raise unavailable(exc) from None

    @contextmanager
    def group(self, *, durable: bool = True) -> Iterator[None]:
        """One transaction for every `transaction()` this thread opens inside it (group commit),
        `durable` as a transaction's: a 503 when it cannot begin or commit, and then nothing of it
        was stored."""
        self._check_file()
        try:
            with self._immediate(durable) as conn:
                self._grouping = threading.get_ident()
                try:
                    yield
                finally:
                    self._grouping = None
                if not conn.in_transaction:
                    raise sqlite3.OperationalError("the group's transaction was rolled back")
        except sqlite3.OperationalError as exc:
            raise unavailable(exc) from None

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The transactions this thread opens inside it only read: each is a deferred transaction and
        takes no file lock. In WAL mode a reader waits for no writer and no writer for it, so reads
        of other processes go on while one writes. One that wrote is a fault of ours, loud (a 500,
        not a 503), and rolled back."""
        self._reading = threading.get_ident()
        try:
            yield
        finally:
            self._reading = None

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            changes = conn.total_changes
            conn.execute("BEGIN")
            try:
                yield conn
                if conn.total_changes != changes:
                    raise RuntimeError("a read-only transaction wrote: nothing of it was kept")
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")  # it read: nothing to keep (and a write is undone)

    @contextmanager
    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        try:
            if not conn.in_transaction:  # an error rolled the group back: a savepoint now would commit alone
                raise sqlite3.OperationalError("the group's transaction was rolled back")
            conn.execute("SAVEPOINT call")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK TO call")
                conn.execute("RELEASE call")
                raise
            conn.execute("RELEASE call")
        except sqlite3.OperationalError as exc:
            raise unavailable(exc) from None

    def seed_if_empty(self, world: World, now: datetime, *, reset: bool = False) -> bool:
        """Seed from the fixtures when the store is empty (or when `reset`); True if it seeded."""
        with self.transaction() as tx:
            seeded = tx.seed_if_empty(world, now, reset)
        if seeded:
            with self._lock:
                # Fold the seeded world into the database file now, not during the first requests.
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return seeded

    def partners(self) -> list[Partner]:
        with self.transaction() as tx:
            return tx.partners()

    def ping(self) -> None:
        self._check_file()
        with self._lock:
            self._conn.execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self._queue is not None:
                self._queue.close()


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, None when there is none."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino

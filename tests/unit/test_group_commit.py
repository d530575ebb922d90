"""Group commit on SQLite (store/sqlite.py `group`, offload.StoreCalls): the store calls of one turn
of the event loop share one transaction, each call in a savepoint of its own; a call's failure rolls
back that call alone; each call is answered only once the group is stored; a group that cannot commit
answers every call of it with the store's 503 and stores nothing of it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from datetime import UTC, datetime

import pytest

from partner_sandbox.fixtures import load_world
from partner_sandbox.offload import StoreCalls
from partner_sandbox.store import SqliteStore, StoreUnavailable
from tests.helpers import TEST_WORLD

PARTNER = "sandbox-partner"


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(tmp_path / "group.db")
    store.seed_if_empty(load_world(TEST_WORLD), datetime.now(UTC))
    yield store
    store.close()


def paths(store: SqliteStore) -> list[str]:
    """The journal's paths as another connection sees them: only what is committed."""
    other = sqlite3.connect(store._file)
    try:
        return sorted(row[0] for row in other.execute("SELECT json_extract(entry, '$.path') FROM journal"))
    finally:
        other.close()


def write(store: SqliteStore, path: str, fail: bool = False) -> str:
    with store.transaction() as tx:
        tx.add_journal_entry(PARTNER, {"path": path})
        if fail:
            raise ValueError(f"{path} fails")
    return path


def test_a_group_is_one_transaction_whose_calls_fail_alone_and_are_stored_at_its_commit(store):
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    with store.group():
        write(store, "/a")
        with pytest.raises(ValueError):
            write(store, "/b", fail=True)
        write(store, "/c")
        assert paths(store) == []  # nothing is stored before the group commits
    assert paths(store) == ["/a", "/c"]
    assert statements.count("BEGIN IMMEDIATE") == 1 and statements.count("COMMIT") == 1


def test_a_group_whose_transaction_was_rolled_back_stores_nothing_and_is_a_503(store):
    with pytest.raises(StoreUnavailable), store.group():
        write(store, "/a")
        store._conn.execute("ROLLBACK")  # as SQLite does on some errors (a full disk)
        with pytest.raises(StoreUnavailable):  # a later call would otherwise commit alone
            write(store, "/b")
    assert paths(store) == []
    write(store, "/after")  # the store goes on
    assert paths(store) == ["/after"]


def test_a_transaction_of_another_thread_waits_for_the_group(store):
    async def main():
        with store.group():
            write(store, "/group")
            other = asyncio.get_running_loop().run_in_executor(None, write, store, "/thread")
            await asyncio.sleep(0.2)
            assert not other.done() and paths(store) == []
        await other

    asyncio.run(main())
    assert paths(store) == ["/group", "/thread"]


def test_the_calls_of_one_turn_share_one_commit_and_are_answered_after_it(store):
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    stored_when_answered: list[list[str]] = []

    async def one(calls: StoreCalls, path: str, fail: bool = False):
        result = await calls.call(write, store, path, fail)
        stored_when_answered.append(paths(store))
        return result

    async def main():
        calls = StoreCalls(store)
        return await asyncio.gather(one(calls, "/1"), one(calls, "/2", True), one(calls, "/3"),
                                    return_exceptions=True)

    first, failed, third = asyncio.run(main())
    assert (first, third) == ("/1", "/3") and isinstance(failed, ValueError)
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert stored_when_answered == [["/1", "/3"]] * 2  # each answer came once both were stored


def test_a_group_that_cannot_commit_answers_every_call_503_and_logs_what_nobody_awaited(store, caplog):
    real_group = store.group

    def failing_group(**kwargs):
        with real_group(**kwargs):
            yield
            store._conn.execute("ROLLBACK")  # the commit cannot happen

    store.group = contextlib.contextmanager(failing_group)

    async def main():
        calls = StoreCalls(store)
        calls.submit(write, store, "/record")
        return await asyncio.gather(calls.call(write, store, "/1"), calls.call(write, store, "/2"),
                                    return_exceptions=True)

    with caplog.at_level(logging.ERROR, logger="partner_sandbox.store"):
        answers = asyncio.run(main())
    assert all(isinstance(a, StoreUnavailable) and a.status == 503 for a in answers)
    assert paths(store) == []
    assert "not kept" in caplog.text


def read(store: SqliteStore) -> list[str]:
    with store.transaction() as tx:
        return [entry["path"] for entry in tx.journal(PARTNER, 100)]


def test_a_read_runs_in_a_transaction_that_waits_for_no_writer(store):
    write(store, "/before")
    other = sqlite3.connect(store._file)
    other.execute("BEGIN IMMEDIATE")  # another process writing, its lock held
    other.execute("INSERT INTO journal (partner_id, entry) VALUES (?, '{\"path\": \"/other\"}')", (PARTNER,))
    store._conn.execute("PRAGMA busy_timeout = 200")  # a writer's wait fails fast here
    try:
        with store.reading():
            assert read(store) == ["/before"]  # the last committed state, at once
        with pytest.raises(StoreUnavailable):  # a write does wait for the lock
            write(store, "/blocked")
    finally:
        other.rollback()
        other.close()


def test_a_read_that_writes_is_a_fault_and_keeps_nothing(store):
    with store.reading(), pytest.raises(RuntimeError, match="read-only transaction wrote"):
        write(store, "/sneaky")
    assert paths(store) == [] and not store._conn.in_transaction
    write(store, "/after")
    assert paths(store) == ["/after"]


def test_a_commit_that_fails_is_rolled_back_and_the_store_goes_on(store):
    with pytest.raises(sqlite3.IntegrityError), store.group():
        write(store, "/a")
        with store.transaction() as tx:  # a row whose partner does not exist, checked only at COMMIT
            tx._conn.execute("PRAGMA defer_foreign_keys = ON")
            tx._conn.execute("INSERT INTO workspaces (id, partner_id, display_name, seats_purchased, plan_id,"
                             " group_id, created_at, updated_at) VALUES ('w', 'nobody', 'w', 1, 1, 1, 0, 0)")
    assert not store._conn.in_transaction  # else the write lock stays held and every later write fails
    assert paths(store) == []
    write(store, "/after")
    assert paths(store) == ["/after"]


def test_a_call_that_reads_is_answered_at_once_read_only_and_one_that_writes_a_turn_later(store):
    write(store, "/seed")

    async def main():
        calls, turns = StoreCalls(store), []
        asyncio.get_running_loop().call_soon(turns.append, "turn")
        alone = await calls.call(read, store, writes=False)
        seen_alone = list(turns)
        with pytest.raises(RuntimeError):  # the read-only transaction
            await calls.call(write, store, "/not-a-read", writes=False)
        grouped = await calls.call(write, store, "/grouped")
        return alone, seen_alone, grouped, turns

    assert asyncio.run(main()) == (["/seed"], [], "/grouped", ["turn"])


def test_an_exception_that_is_no_exception_still_answers_every_call_and_stores_nothing(store):
    class Interrupt(BaseException):
        pass

    def interrupted():
        with store.transaction():
            raise Interrupt

    async def main():
        calls = StoreCalls(store)
        # asyncio logs the interrupt that leaves its callback; the calls must not wait for ever
        return await asyncio.wait_for(asyncio.gather(calls.call(write, store, "/1"), calls.call(interrupted),
                                                     return_exceptions=True), 5)

    answers = asyncio.run(main())
    assert all(isinstance(a, RuntimeError) for a in answers), answers
    assert paths(store) == []


def test_a_group_of_records_alone_is_written_as_records_are_and_with_a_call_durably(tmp_path):
    store = SqliteStore(tmp_path / "full.db", durability="full")
    store.seed_if_empty(load_world(TEST_WORLD), datetime.now(UTC))
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)

    async def main(with_call: bool):
        calls = StoreCalls(store)
        calls.submit(write, store, "/record")
        if with_call:
            await calls.call(write, store, "/call")
        else:
            await asyncio.sleep(0.01)

    asyncio.run(main(False))
    assert "PRAGMA synchronous = OFF" in statements  # the journal's entries skip the fsync, as before
    statements.clear()
    asyncio.run(main(True))
    assert "PRAGMA synchronous = OFF" not in statements and statements.count("BEGIN IMMEDIATE") == 1
    store.close()

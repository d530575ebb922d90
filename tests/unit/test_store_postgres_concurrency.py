"""PostgreSQL for several workers and replicas: what one transaction holds does not stall the others."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from partner_sandbox.fixtures import World
from partner_sandbox.store import PostgresStore

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_ids_are_taken_without_holding_the_counter_until_commit(postgres):
    """A creation reserves its ids on a connection aside: a second one does not wait for the first to
    commit (the counter's row lock lasts one statement), and the ids never overlap."""
    store = PostgresStore(postgres.new_database())
    try:
        store.seed_if_empty(World(partners=()), NOW)  # the counters, as a seed makes them
        taken, release = threading.Event(), threading.Event()

        def first() -> int:
            with store.transaction() as tx:
                start = tx.next_ids("user_id", 5)
                taken.set()
                assert release.wait(30)
            return start

        with ThreadPoolExecutor(max_workers=2) as pool:
            holding = pool.submit(first)
            assert taken.wait(30)

            def second() -> int:
                with store.transaction() as tx:
                    return tx.next_ids("user_id", 5)

            other = pool.submit(second)
            try:
                start_other = other.result(timeout=5)  # would wait until the first commits
            finally:
                release.set()
            start_first = holding.result(timeout=30)
        assert abs(start_first - start_other) >= 5
    finally:
        store.close()


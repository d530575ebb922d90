"""The production rate limit's buckets, kept in the store: every worker process of a server and every
replica on one PostgreSQL database draw from one bucket per client."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..domain.ratelimit import RateLimiter, refill
from ..store import Store


class SharedRateLimiter(RateLimiter):
    """The same buckets kept in the store, so that every worker process of a server and every
    replica on one PostgreSQL database draw from one bucket per key. A transaction a request, which
    is nothing at the rates this is for (production's 30 a second per client)."""

    def __init__(self, store: Store, rate: float, capacity: float | None = None, *,
                 now: Callable[[], float] = time.time):
        super().__init__(rate, capacity, now=now)  # wall-clock time: the same in every process
        self.store = store
        self.network = store.network

    def take(self, key: str) -> float:
        if self.rate <= 0:
            return 0.0
        now = self._now()
        with self.store.transaction(durable=False) as tx:
            tokens, at = tx.rate_bucket(key, self.capacity, now)
            tokens, wait = refill(tokens, at, now, self.rate, self.capacity)
            tx.set_rate_bucket(key, tokens, now)
        return wait

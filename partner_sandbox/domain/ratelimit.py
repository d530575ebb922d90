"""Rate limiting: the policy, the token-bucket rule, and the buckets per partner in each server
process (the sandbox's default, a number a second). The per-IP buckets of `--rate-limit production`
live in the store (services/ratelimit.py)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


from ..errors import ApiError

PRODUCTION = "production"


@dataclass(frozen=True)
class RatePolicy:
    """`rate` requests a second per key, in bursts of up to `capacity`; `per` is "partner" or "ip"."""

    per: str
    rate: float
    capacity: float

    @classmethod
    def parse(cls, text: str) -> RatePolicy:
        """`production`: the published 30 a second per client IP with a burst of 10 more; a number N:
        N a second per partner, in bursts of N (0 turns limiting off)."""
        if text.strip().lower() == PRODUCTION:
            return cls("ip", 30.0, 40.0)
        try:
            rate = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is neither 'production' nor a number of requests a second") from None
        if not math.isfinite(rate) or rate < 0:
            raise ValueError(f"{text!r} must be 0 or more requests a second")
        return cls("partner", rate, rate)


def refill(tokens: float, at: float, now: float, rate: float, capacity: float) -> tuple[float, float]:
    """One token bucket's take at `now`, from (tokens, at): the tokens left and the seconds to wait
    (0.0 when the request may pass). The one rule for the in-process and the shared buckets."""
    tokens = min(capacity, tokens + max(0.0, now - at) * rate)
    if tokens >= 1:
        return tokens - 1, 0.0
    return tokens, (1 - tokens) / rate


class RateLimiter:
    """A token bucket per key, in this process; a rate of 0 turns limiting off."""

    network = False  # kept in memory (offload.py)

    def __init__(self, rate: float, capacity: float | None = None, *, now: Callable[[], float] = time.monotonic):
        self.rate = rate
        self.capacity = rate if capacity is None else capacity
        self._now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take a token: 0.0 when allowed, else the seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._now()
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens, wait = refill(tokens, at, now, self.rate, self.capacity)
            self._buckets[key] = (tokens, now)
            return wait

    def check(self, key: str, who: str = "partner") -> None:
        """Raise the 429 when `key` is over its rate; `who` names the key in the description."""
        wait = self.take(key)
        if wait:
            seconds = max(1, math.ceil(wait))
            raise ApiError(
                "rate_limited",
                f"The {who}'s request rate is over its limit of {self.rate:g} a second; retry in {seconds} s",
                headers={"Retry-After": str(seconds), "RateLimit-Limit": f"{self.rate:g}",
                         "RateLimit-Remaining": "0", "RateLimit-Reset": str(seconds)},
            )

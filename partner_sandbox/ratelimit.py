"""Rate limiting per partner: a token bucket per partner in each server process."""

from __future__ import annotations

import math
import threading
import time

from .errors import Problem


class RateLimiter:
    """`rate` requests a second per partner, in bursts of up to `rate`; 0 turns limiting off."""

    def __init__(self, rate: float, *, now=time.monotonic):
        self.rate = rate
        self._now = now
        self._buckets: dict[str, tuple[float, float]] = {}  # partner -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, partner_id: str) -> float:
        """Take a token: 0.0 when allowed, else the seconds until one is available."""
        if self.rate <= 0:
            return 0.0
        with self._lock:
            now = self._now()
            tokens, at = self._buckets.get(partner_id, (self.rate, now))
            tokens = min(self.rate, tokens + (now - at) * self.rate)
            if tokens >= 1:
                self._buckets[partner_id] = (tokens - 1, now)
                return 0.0
            self._buckets[partner_id] = (tokens, now)
            return (1 - tokens) / self.rate

    def check(self, partner_id: str) -> None:
        """Raise the 429 problem when the partner is over its rate."""
        wait = self.take(partner_id)
        if wait:
            seconds = max(1, math.ceil(wait))
            raise Problem(
                "rate_limited",
                f"The partner's request rate is over its limit of {self.rate:g} a second; retry in {seconds} s",
                headers={"Retry-After": str(seconds), "RateLimit-Limit": f"{self.rate:g}",
                         "RateLimit-Remaining": "0", "RateLimit-Reset": str(seconds)},
            )

"""Rate limiting: token buckets, per partner in each server process (the sandbox's default, a
number a second), or per client IP for the server as a whole (`--rate-limit production`, the
published limits: the buckets live in the store, shared by every worker and replica), and who the
client is: the socket's peer, or what a trusted proxy says it forwarded for."""

from __future__ import annotations

import ipaddress
import math
import re
import threading
import time
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
    def parse(cls, text: str) -> "RatePolicy":
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

    def __init__(self, rate: float, capacity: float | None = None, *, now=time.monotonic):
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


class SharedRateLimiter(RateLimiter):
    """The same buckets kept in the store, so that every worker process of a server and every
    replica on one PostgreSQL database draw from one bucket per key. A transaction a request, which
    is nothing at the rates this is for (production's 30 a second per client)."""

    def __init__(self, store, rate: float, capacity: float | None = None, *, now=time.time):
        super().__init__(rate, capacity, now=now)  # wall-clock time: the same in every process
        self.store = store

    def take(self, key: str) -> float:
        if self.rate <= 0:
            return 0.0
        now = self._now()
        with self.store.transaction(durable=False) as tx:
            tokens, at = tx.rate_bucket(key, self.capacity, now)
            tokens, wait = refill(tokens, at, now, self.rate, self.capacity)
            tx.set_rate_bucket(key, tokens, now)
        return wait


_FORWARDED_FOR = re.compile(r'(?:^|[;,\s])for\s*=\s*("[^"]*"|[^;,\s]*)', re.IGNORECASE)


def _address(text: str) -> str:
    """An address as a forwarding header writes it, without quotes, brackets or port."""
    text = text.strip().strip('"')
    if text.startswith("["):
        return text[1:text.find("]")] if "]" in text else text[1:]
    if text.count(":") == 1:  # IPv4 with a port; a bare IPv6 address has more colons
        return text.split(":")[0]
    return text


class ClientAddress:
    """Who the client is, for the per-IP limit. The socket's peer, unless the peer is one of the
    operator's trusted proxies (`--trusted-proxies`): then the nearest address in `Forwarded`
    (RFC 7239, `for=`) or else `X-Forwarded-For` that is not itself a trusted proxy. With no trusted
    proxy (the default) these headers count for nothing, so a client cannot pick its own key."""

    def __init__(self, trusted: str = ""):
        self.networks = [ipaddress.ip_network(part.strip(), strict=False) for part in trusted.split(",") if part.strip()]

    @staticmethod
    def parse(trusted: str) -> str:
        """The flag's value checked: comma-separated addresses or networks (CIDR)."""
        for part in (p.strip() for p in trusted.split(",")):
            if part:
                try:
                    ipaddress.ip_network(part, strict=False)
                except ValueError:
                    raise ValueError(f"{part!r} is not an IP address or network") from None
        return trusted

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def __call__(self, scope) -> str:
        peer = (scope.get("client") or ("unknown", 0))[0]
        if not self.networks or not self._trusted(peer):
            return peer
        forwarded = [v.decode("latin-1") for k, v in scope["headers"] if k == b"forwarded"]
        if forwarded:
            chain = [_address(m) for m in _FORWARDED_FOR.findall(",".join(forwarded))]
        else:
            chain = [_address(part) for k, v in scope["headers"] if k == b"x-forwarded-for"
                     for part in v.decode("latin-1").split(",")]
        for address in reversed([a for a in chain if a]):
            if not self._trusted(address):
                return address
        return peer

"""Webhook delivery: takes due events from the outbox and POSTs them, signed, to the partner's URL,
with retries (exponential backoff and jitter) up to a bound.

No receiver can jam it: every attempt has a total deadline (connect, send and answer together), an
answer is read up to ANSWER_BYTES and never decompressed, each event is delivered by a task of its
own (events of other workspaces and partners never wait on it; a workspace's events go one at a
time, in order, because the outbox hands out only the oldest pending one of each workspace; one
partner has at most PARTNER_IN_FLIGHT of a process's MAX_IN_FLIGHT attempts open at once), and an
event whose URL cannot be attempted is failed at once with the reason, so it never holds back the
next one. An event is never in flight twice: its lease outlasts the attempt's deadline."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
import logging
import random
import time
from functools import partial
from datetime import datetime, UTC
from collections.abc import Callable
from urllib.parse import urlsplit

import httpx

from ..auth import Partner, mint_signature
from ..domain.model import OutboxEvent
from ..offload import off_loop
from ..store import Store
from .urls import url_problem

log = logging.getLogger("partner_sandbox.webhooks")

POLL_SECONDS = 0.2  # how often a process looks for due events (other processes' too)
LEASE_MARGIN_SECONDS = 30.0  # a claimed event is left alone by every process this long past its deadline
BACKOFF_CAP_SECONDS = 300.0
SIGNATURE_TTL_SECONDS = 300
MAX_IN_FLIGHT = 64  # attempts at once in one process
PARTNER_IN_FLIGHT = 16  # of them, one partner's at most: a partner with many slow receivers leaves room
ANSWER_BYTES = 16 * 1024  # read of a receiver's answer; the rest is never read


class Undeliverable(Exception):
    """The event cannot be attempted at all (its URL, as it stands): failed at once, not retried."""


def _room_left(busy: Counter[str], partner: str) -> int:
    """Attempts a partner may still start in this process."""
    return PARTNER_IN_FLIGHT - busy[partner]


def _settled(in_flight: dict[int, asyncio.Task[None]], partner_of: dict[int, str], row: int, _task: object) -> None:
    in_flight.pop(row, None)
    partner_of.pop(row, None)


class Deliverer:
    def __init__(self, store: Store, partners: Callable[[str], Partner | None], *, max_attempts: int, backoff: float,
                 timeout: float, allowed_hosts: frozenset[str] = frozenset(), random_fraction=random.random):
        self.store = store
        self.partners = partners
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.timeout = timeout
        self.jitter = random_fraction
        self.allowed_hosts = allowed_hosts  # empty: any host

    def delay(self, attempts: int) -> float:
        """Seconds before the next attempt after `attempts` failed ones: exponential, with jitter."""
        base = min(BACKOFF_CAP_SECONDS, self.backoff * 2 ** (attempts - 1))
        return base * (0.5 + 0.5 * self.jitter())

    @property
    def lease(self) -> float:
        return self.timeout + LEASE_MARGIN_SECONDS

    def _claim(self, room: int, busy: Counter) -> list[OutboxEvent]:
        with self.store.transaction() as tx:
            return tx.claim_events(time.time(), self.lease, room, room=partial(_room_left, busy))

    def _record(self, row: int, at: datetime, status_code: int | None, error: str | None, latency: float,
                outcome: str, next_at: float, signed: bool) -> None:
        with self.store.transaction() as tx:
            tx.record_attempt(row, at, status_code, error, latency, outcome, next_at, signed=signed)

    def _webhook_url(self, partner_id: str) -> str | None:
        with self.store.transaction() as tx:
            return tx.webhook_url(partner_id)

    async def run(self) -> None:
        in_flight: dict[int, asyncio.Task[None]] = {}
        partner_of: dict[int, str] = {}
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=MAX_IN_FLIGHT)
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False, limits=limits,
                                     trust_env=False) as client:
            try:
                while True:
                    try:
                        room = MAX_IN_FLIGHT - len(in_flight)
                        if room > 0:
                            busy = Counter(partner_of.values())
                            claimed = await off_loop(self.store, self._claim, room, busy)
                            for event in claimed:
                                if event.row not in in_flight:
                                    task = asyncio.create_task(self.deliver(client, event))
                                    in_flight[event.row] = task
                                    partner_of[event.row] = event.partner_id
                                    task.add_done_callback(partial(_settled, in_flight, partner_of, event.row))
                    except Exception:  # a delivery loop that stops would strand every event
                        log.exception("webhook delivery loop error")
                    await asyncio.sleep(POLL_SECONDS)
            finally:
                for task in list(in_flight.values()):
                    task.cancel()  # its lease runs out and another attempt is made later

    async def deliver(self, client: httpx.AsyncClient, event: OutboxEvent) -> None:
        at = datetime.now(UTC)  # the signature is minted at it (in whole seconds)
        started = time.perf_counter()
        retry, signed = True, False
        try:
            status_code, error, signed = await self.attempt(client, event, at)
        except Undeliverable as exc:
            status_code, error, retry = None, str(exc), False
        except Exception as exc:  # never a stranded event: failed, with the reason
            log.error("webhook %s cannot be attempted: %s", event.event_id, type(exc).__name__)
            status_code, error, retry = None, f"cannot be attempted: {type(exc).__name__}", False
        latency = round((time.perf_counter() - started) * 1000, 2)
        attempts = event.round_attempts + 1
        if error is None:
            outcome, next_at = "delivered", 0.0
        elif not retry or attempts >= self.max_attempts:
            outcome, next_at = "failed", 0.0
        else:
            outcome, next_at = "pending", time.time() + self.delay(attempts)
        await off_loop(self.store, self._record, event.row, at, status_code, error, latency, outcome, next_at, signed)
        log.info(json.dumps({"webhook": event.event_id, "status_code": status_code, "error": error,
                             "outcome": outcome, "latency_ms": latency}))

    async def attempt(self, client: httpx.AsyncClient, event: OutboxEvent, at: datetime
                      ) -> tuple[int | None, str | None, bool]:
        """One POST of the event, signed at `at`: (status code, error or None, whether a signed request
        was made). Raises Undeliverable."""
        url = await off_loop(self.store, self._webhook_url, event.partner_id)
        partner = self.partners(event.partner_id)
        if url is None or partner is None:
            return None, "no webhook URL is set", False
        problem = url_problem(url)
        if problem is not None:
            raise Undeliverable(problem)
        if self.allowed_hosts and urlsplit(url).hostname not in self.allowed_hosts:
            return None, "host not allowed (--webhook-hosts)", False  # refused before any lookup or connection
        headers = {
            "Content-Type": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": "partner-sandbox-webhooks",
            "X-TL-Partner-Id": partner.id,
            "X-TL-Signature": mint_signature(partner, ttl_seconds=SIGNATURE_TTL_SECONDS, now=at.timestamp()),
            "X-TL-Event-Id": event.event_id,
        }
        try:
            async with asyncio.timeout(self.timeout):
                async with client.stream("POST", url, content=event.body.encode(), headers=headers) as response:
                    read = 0
                    async for chunk in response.aiter_raw():  # raw: never decompressed
                        read += len(chunk)
                        if read >= ANSWER_BYTES:
                            break  # the rest is not read; the connection is closed with the response
        except TimeoutError:
            return None, f"timeout (no whole answer within {self.timeout:g} s)", True
        except httpx.TimeoutException:
            return None, "timeout", True
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise Undeliverable(f"the URL cannot be used: {exc}") from None
        except httpx.HTTPError as exc:
            return None, f"connection error: {type(exc).__name__}", True
        if not 200 <= response.status_code < 300:
            return response.status_code, f"HTTP {response.status_code}", True
        return response.status_code, None, True

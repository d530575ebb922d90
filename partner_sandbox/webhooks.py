"""Webhook delivery: takes due events from the outbox and POSTs them, signed, to the partner's URL,
with retries (exponential backoff and jitter) up to a bound, one event at a time per user."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import urlsplit

import httpx

from .auth import Partner, mint_signature
from .domain import event_time
from .store import Store

log = logging.getLogger("partner_sandbox.webhooks")

POLL_SECONDS = 0.2  # how often a process looks for due events (other processes' too)
LEASE_SECONDS = 60.0  # an event being delivered is left alone this long by other processes
BACKOFF_CAP_SECONDS = 300.0
SIGNATURE_TTL_SECONDS = 300


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

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            while True:
                try:
                    with self.store.transaction() as tx:
                        claimed = tx.claim_events(time.time(), LEASE_SECONDS, 20)
                    if claimed:
                        await asyncio.gather(*(self.deliver(client, event) for event in claimed))
                        continue
                except Exception:  # a delivery loop that stops would strand every event
                    log.exception("webhook delivery loop error")
                await asyncio.sleep(POLL_SECONDS)

    async def deliver(self, client: httpx.AsyncClient, event: dict) -> None:
        with self.store.transaction() as tx:
            url = tx.webhook_url(event["partner_id"])
        partner = self.partners(event["partner_id"])
        at = event_time(datetime.now(timezone.utc))
        started = time.perf_counter()
        status_code, error = None, None
        if url is None or partner is None:
            error = "no webhook URL is set"
        elif self.allowed_hosts and urlsplit(url).hostname not in self.allowed_hosts:
            error = "host not allowed (--webhook-hosts)"  # refused before any lookup or connection
        else:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "partner-sandbox-webhooks",
                "X-TL-Partner-Id": partner.id,
                "X-TL-Signature": mint_signature(partner, ttl_seconds=SIGNATURE_TTL_SECONDS),
                "X-TL-Event-Id": event["event_id"],
            }
            try:
                response = await client.post(url, content=event["body"].encode(), headers=headers)
                status_code = response.status_code
                if not 200 <= status_code < 300:
                    error = f"HTTP {status_code}"
            except httpx.TimeoutException:
                error = "timeout"
            except httpx.HTTPError as exc:
                error = f"connection error: {type(exc).__name__}"
        latency = round((time.perf_counter() - started) * 1000, 2)
        attempts = event["round_attempts"] + 1
        if error is None:
            outcome, next_at = "delivered", 0.0
        elif attempts >= self.max_attempts:
            outcome, next_at = "failed", 0.0
        else:
            outcome, next_at = "pending", time.time() + self.delay(attempts)
        with self.store.transaction() as tx:
            tx.record_attempt(event["row"], at, status_code, error, latency, outcome, next_at)
        log.info(json.dumps({"webhook": event["event_id"], "status_code": status_code, "error": error,
                             "outcome": outcome, "latency_ms": latency}))

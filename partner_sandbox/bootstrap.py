"""Start-up without the web stack: settings to a seeded store and the sandbox's services, and logging.
The parent of `serve --workers N` runs only this; each worker builds its app on top of it."""

from __future__ import annotations

import logging
import sys

from .auth import Authenticator
from .domain.clock import system_clock
from .fixtures import World, load_world
from .redaction import install_log_redaction
from .domain.ratelimit import RateLimiter
from .services.sandbox import Sandbox
from .settings import Settings
from .store import open_store


def build_sandbox(settings: Settings, *, seed: bool = True) -> Sandbox:
    """Open the store; with `seed`, first load and validate the fixtures and seed an empty store
    (or re-seed with --reset): fails fast on bad input. Worker processes open the store the parent
    seeded, and read the fixtures only if a partner resets."""
    store = open_store(settings.db, durability=settings.durability)
    if seed:
        store.seed_if_empty(load_world(settings.fixtures), system_clock(), reset=settings.reset)
    # Read again at each reset, not kept: a world of 1,000,000 users is ~400 MB of objects.
    def fixtures() -> World:
        return load_world(settings.fixtures)

    authenticator = Authenticator({p.id: p for p in store.partners()})
    policy = settings.rate_policy
    per_partner = RateLimiter(policy.rate, policy.capacity) if policy.per == "partner" else RateLimiter(0)
    return Sandbox(settings=settings, store=store, authenticator=authenticator, world=fixtures,
                   limiter=per_partner)


def configure_logging(level: str) -> None:
    """Plain lines on stderr: our access log is already JSON; uvicorn's own lines stay as they are.
    Every record, of any logger, is redacted (redaction.install_log_redaction)."""
    install_log_redaction()
    logging.basicConfig(level=level.upper(), format="%(message)s", stream=sys.stderr)

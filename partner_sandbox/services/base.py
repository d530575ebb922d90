"""What every service shares: the settings, the store, authentication, the fixtures, the clock and
the token sources of one app, and one transaction around one rule on the partner's clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ..auth import Authenticator
from ..domain import links, pairing
from ..domain.clock import Clock, partner_now, system_clock
from ..domain.ratelimit import RateLimiter
from ..fixtures import World
from ..settings import Settings
from ..store import Store


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    authenticator: Authenticator
    world: Callable[[], World]  # the fixtures, loaded when first needed (workers rarely reset)
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(0))
    clock: Clock = system_clock  # real time; each partner's test clock is relative to it
    new_token: links.TokenSource = links.new_link_token
    new_pairing_code: Callable[[], str] = pairing.new_pairing_code

    @property
    def rotation(self) -> timedelta:
        """How long each image of a link page's QR flow lasts."""
        return timedelta(seconds=self.settings.qr_rotation_seconds)

    def _at_partner_time(self, partner_id: str, rule: Callable[..., Any], **arguments: Any) -> Any:
        """One store transaction around one rule, on the partner's clock."""
        with self.store.transaction() as tx:
            now = partner_now(tx, partner_id, self.clock())
            return rule(tx, partner_id=partner_id, now=now, **arguments)

    def link_url(self, token: str) -> str:
        """The absolute URL of a link's page on the sandbox's public base URL."""
        return f"{self.settings.base_url}/qr/{token}"

    def scan_url(self, token: str) -> str:
        """What the QR code encodes: the scan confirmation page, so a real phone can scan it."""
        return f"{self.link_url(token)}/scan"

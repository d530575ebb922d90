"""The sandbox's services for one app: the store, the authenticator, the clock and the token source."""

from __future__ import annotations

from dataclasses import dataclass

from . import domain
from .auth import Authenticator
from .settings import Settings
from .store import Store


@dataclass(frozen=True)
class Sandbox:
    settings: Settings
    store: Store
    authenticator: Authenticator
    clock: domain.Clock = domain.system_clock
    new_token: domain.TokenSource = domain.new_link_token

    def issue_qr_link(
        self, partner_id: str, workspace_id: str, user_id: int, expires_in_hours: int
    ) -> domain.IssuedLink:
        with self.store.transaction() as tx:
            return domain.issue_qr_link(
                tx,
                partner_id=partner_id,
                workspace_id=workspace_id,
                user_id=user_id,
                expires_in_hours=expires_in_hours,
                clock=self.clock,
                new_token=self.new_token,
            )

    def link_url(self, token: str) -> str:
        """The absolute URL of a link's page on the sandbox's public base URL."""
        return f"{self.settings.base_url}/qr/{token}"

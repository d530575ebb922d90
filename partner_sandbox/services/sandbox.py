"""The sandbox's services for one app: each call is one store transaction around one domain function."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple
from collections.abc import Callable
from datetime import datetime, timedelta

from ..auth import Authenticator
from ..domain import accounts, embedding, links, pairing, workspaces
from ..domain.clock import Clock, change_clock, partner_now, system_clock
from ..domain import tokens as public_api
from ..domain.model import ClockState, Delivery, LinkRecord, Workspace
from ..domain.ratelimit import RateLimiter
from ..errors import ApiError
from ..fixtures import PartnerFixture, World
from ..settings import Settings
from ..store import Store
from ..webhooks.urls import url_problem


class LinkPage(NamedTuple):
    link: LinkRecord
    now: datetime  # the partner's
    embedding_origins: list[str]  # the pages that may frame it
    error_seq: int  # errors of its flow so far: the embedded page reports only later ones


@dataclass(frozen=True)
class Sandbox:
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

    def _at_partner_time(self, partner_id: str, rule, **arguments):
        """One store transaction around one rule, on the partner's clock."""
        with self.store.transaction() as tx:
            now = partner_now(tx, partner_id, self.clock())
            return rule(tx, partner_id=partner_id, now=now, **arguments)

    # --- the Partner API ------------------------------------------------------------------------

    def issue_qr_link(
        self, partner_id: str, workspace_id: str, user_id: int, expires_in_hours: int
    ) -> links.IssuedLink:
        with self.store.transaction() as tx:
            now = partner_now(tx, partner_id, self.clock())
            return links.issue_qr_link(
                tx,
                partner_id=partner_id,
                workspace_id=workspace_id,
                user_id=user_id,
                expires_in_hours=expires_in_hours,
                clock=lambda: now,
                new_token=self.new_token,
            )

    def create_workspace(self, partner_id: str, display_name: str, seats_purchased: int) -> Workspace:
        return self._at_partner_time(partner_id, workspaces.create_workspace,
                                     display_name=display_name, seats_purchased=seats_purchased)

    def workspace_details(self, partner_id: str, workspace_id: str) -> workspaces.Details:
        return self._at_partner_time(partner_id, workspaces.workspace_details, workspace_id=workspace_id)

    def update_workspace(self, partner_id: str, workspace_id: str, display_name: str | None,
                         seats_purchased: int | None) -> Workspace:
        return self._at_partner_time(partner_id, workspaces.update_workspace,
                                     workspace_id=workspace_id, display_name=display_name,
                                     seats_purchased=seats_purchased)

    def create_users(self, partner_id: str, workspace_id: str, count: int):
        return self._at_partner_time(partner_id, workspaces.create_users, workspace_id=workspace_id, count=count)

    def simulate_usage(self, partner_id: str, workspace_id: str, kind: str, amount: int) -> workspaces.Details:
        return self._at_partner_time(partner_id, workspaces.simulate_usage,
                                     workspace_id=workspace_id, kind=kind, amount=amount)

    def disconnect_whatsapp(self, partner_id: str, workspace_id: str, user_id: int) -> accounts.Disconnection:
        return self._at_partner_time(partner_id, accounts.disconnect_whatsapp,
                                     workspace_id=workspace_id, user_id=user_id)

    def public_api_token(self, partner_id: str, workspace_id: str) -> public_api.PublicToken:
        return self._at_partner_time(partner_id, public_api.current_token, workspace_id=workspace_id)

    def rotate_public_api_token(self, partner_id: str, workspace_id: str) -> public_api.PublicToken:
        return self._at_partner_time(partner_id, public_api.rotate_token, workspace_id=workspace_id)

    def link_url(self, token: str) -> str:
        """The absolute URL of a link's page on the sandbox's public base URL."""
        return f"{self.settings.base_url}/qr/{token}"

    def scan_url(self, token: str) -> str:
        """What the QR code encodes: the scan confirmation page, so a real phone can scan it."""
        return f"{self.link_url(token)}/scan"

    # --- the QR page and its pairing flow -------------------------------------------------------

    def link_page(self, token: str) -> LinkPage | None:
        """What a page of the link shows; None for an unknown token."""
        with self.store.transaction() as tx:
            link = links.link_for_token(tx, token)
            if link is None:
                return None
            return LinkPage(link, partner_now(tx, link.partner_id, self.clock()),
                            tx.embedding_origins(link.partner_id), tx.link_flow(link.id).error_seq)

    def link_flow(self, token: str) -> pairing.FlowView:
        with self.store.transaction() as tx:
            return pairing.flow_view(tx, token, self.clock(), self.rotation)

    def start_qr(self, token: str) -> pairing.FlowView:
        with self.store.transaction() as tx:
            return pairing.start_qr(tx, token, self.clock(), self.rotation, self.new_token)

    def request_pairing_code(self, token: str, phone: str) -> pairing.FlowView:
        with self.store.transaction() as tx:
            return pairing.request_pairing_code(tx, token, phone, self.clock(), self.rotation, self.new_pairing_code)

    def scan_token(self, token: str, ref: str | None) -> pairing.Attempt:
        """A scan through the link's pages (a failure is in the answer); LinkGone for a dead link."""
        with self.store.transaction() as tx:
            return pairing.scan_token(tx, token, ref, self.clock(), self.rotation)

    # --- the control API ------------------------------------------------------------------------

    def user_view(self, partner_id: str, workspace_id: str, user_id: int) -> accounts.UserView:
        return self._at_partner_time(partner_id, accounts.user_view, workspace_id=workspace_id, user_id=user_id)

    def _connecting(self, partner_id: str, workspace_id: str, user_id: int, rule, **arguments) -> accounts.UserView:
        """A control call that connects the user's account: its failure is kept, then answered 409."""
        with self.store.transaction() as tx:
            now = partner_now(tx, partner_id, self.clock())
            attempt = rule(tx, partner_id=partner_id, workspace_id=workspace_id, user_id=user_id, now=now,
                           period=self.rotation, **arguments)
            view = accounts.user_view(tx, partner_id=partner_id, workspace_id=workspace_id, user_id=user_id, now=now)
        if attempt.failure is not None:
            raise ApiError("connection_failed", f"Connecting user {user_id}'s account failed: {attempt.failure}")
        return view

    def scan_user(self, partner_id: str, workspace_id: str, user_id: int) -> accounts.UserView:
        return self._connecting(partner_id, workspace_id, user_id, pairing.scan_active_link)

    def enter_pairing_code(self, partner_id: str, workspace_id: str, user_id: int, code: str) -> accounts.UserView:
        return self._connecting(partner_id, workspace_id, user_id, pairing.enter_pairing_code, code=code)

    def force_failure(self, partner_id: str, workspace_id: str, user_id: int, cause: str | None) -> str | None:
        return self._at_partner_time(partner_id, pairing.force_failure, workspace_id=workspace_id, user_id=user_id,
                                     cause=cause)

    def embedding_origins(self, partner_id: str) -> list[str]:
        with self.store.transaction() as tx:
            return tx.embedding_origins(partner_id)

    def set_embedding_origins(self, partner_id: str, origins: list[str]) -> list[str]:
        origins = embedding.checked_origins(origins)
        with self.store.transaction() as tx:
            tx.set_embedding_origins(partner_id, origins)
        return origins

    def clock_view(self, partner_id: str) -> tuple[ClockState, datetime]:
        with self.store.transaction() as tx:
            return tx.clock_state(partner_id), self.clock()

    def change_clock(self, partner_id: str, command: dict) -> tuple[ClockState, datetime]:
        with self.store.transaction() as tx:
            real_now = self.clock()
            state = change_clock(tx.clock_state(partner_id), command, real_now)
            tx.set_clock_state(partner_id, state)
            return state, real_now

    def reset(self, partner_id: str) -> None:
        # A partner the fixtures no longer hold is restored to what they say of it: no workspaces.
        partner = self.world().partner(partner_id) or PartnerFixture(partner_id, "", ())
        with self.store.transaction() as tx:
            tx.reset_partner(partner, self.clock())

    def public_api_token_workspace(self, partner_id: str, token: str) -> str | None:
        with self.store.transaction() as tx:
            return public_api.token_workspace(tx, partner_id=partner_id, token=token)

    def record_requests(self, entries: list[tuple[str, dict]]) -> None:
        """Journal entries (partner id, entry), in one transaction."""
        with self.store.transaction(durable=False) as tx:
            for partner_id, entry in entries:
                tx.add_journal_entry(partner_id, entry)

    def journal(self, partner_id: str, limit: int) -> list[dict]:
        with self.store.transaction() as tx:
            return tx.journal(partner_id, limit)

    # --- webhooks -------------------------------------------------------------------------------

    def webhook(self, partner_id: str) -> str | None:
        with self.store.transaction() as tx:
            return tx.webhook_url(partner_id)

    def set_webhook(self, partner_id: str, url: str | None) -> None:
        problem = None if url is None else url_problem(url)
        if problem is not None:
            raise ApiError("invalid_request", f"url: {problem}")
        with self.store.transaction() as tx:
            tx.set_webhook(partner_id, url)

    def deliveries(self, partner_id: str, limit: int) -> list[Delivery]:
        with self.store.transaction() as tx:
            return tx.deliveries(partner_id, limit)

    def redeliver(self, partner_id: str, delivery_id: int) -> bool:
        with self.store.transaction() as tx:
            return tx.redeliver(partner_id, delivery_id)

"""The control API's use cases: a user's state, simulated scans and pairing codes, forced failures,
embedding origins, the test clock, reset, the request journal, the webhook URL and deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain import accounts, embedding, messages, pairing, workspaces
from ..domain import tokens as public_api
from ..domain.clock import change_clock, partner_now
from ..domain.model import ClockState, Delivery
from ..errors import ApiError
from ..fixtures import PartnerFixture
from ..webhooks.urls import url_problem
from .base import Services


class Controls(Services):
    def sign_in(self, partner_id: str, secret: str) -> tuple[str, int]:
        """A Partner API token (and its exp) for a partner id and its secret."""
        return self.authenticator.sign_in(partner_id, secret)

    def workspaces_of(self, partner_id: str, limit: int, users: int) -> list[workspaces.Details]:
        return self._at_partner_time(partner_id, workspaces.partner_world, limit=limit, users=users)

    def user_view(self, partner_id: str, workspace_id: str, user_id: int) -> accounts.UserView:
        return self._at_partner_time(partner_id, accounts.user_view, workspace_id=workspace_id, user_id=user_id)

    def _connecting(self, partner_id: str, workspace_id: str, user_id: int, rule: Any, **arguments: Any) -> accounts.UserView:
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

    def change_clock(self, partner_id: str, command: dict[str, Any]) -> tuple[ClockState, datetime]:
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

    def record_requests(self, entries: list[tuple[str, dict[str, Any]]]) -> None:
        """Journal entries (partner id, entry), in one transaction."""
        with self.store.transaction(durable=False) as tx:
            for partner_id, entry in entries:
                tx.add_journal_entry(partner_id, entry)

    def journal(self, partner_id: str, limit: int) -> list[dict[str, Any]]:
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

    # --- messages sent through the Public API ----------------------------------------------------

    def sent_messages(self, partner_id: str, workspace_id: str, limit: int) -> tuple[list[messages.SentMessage], datetime]:
        return self._at_partner_time(partner_id, messages.sent_messages, workspace_id=workspace_id, limit=limit)

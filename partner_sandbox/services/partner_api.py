"""The Partner API's use cases: workspaces, users, QR links, WhatsApp disconnects, Public API tokens."""

from __future__ import annotations

from ..domain import accounts, links, workspaces
from ..domain import tokens as public_api
from ..domain.clock import partner_now
from ..domain.model import Member, Workspace
from .base import Services


class PartnerApi(Services):
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

    def create_users(self, partner_id: str, workspace_id: str, count: int) -> tuple[Workspace, list[Member]]:
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

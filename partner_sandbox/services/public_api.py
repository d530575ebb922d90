"""The Public API's use cases: the caller of a call (its token's workspace, the call counted), the
workspace as the Public API shows it, and messages. One store transaction each."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain import messages, public_api, workspaces
from ..domain.clock import partner_now
from ..domain.model import Member, SentMessage, WhatsAppAccount
from .base import Services


class PublicApi(Services):
    def _partner_active(self, partner_id: str) -> bool:
        partner = self.authenticator.partner(partner_id)
        return partner is not None and partner.active

    def public_api_caller(self, authorization: str | None) -> public_api.Caller:
        """The workspace of the Bearer token, this call counted against its API-call quota."""
        token = public_api.bearer_token(authorization)
        with self.store.transaction() as tx:
            return public_api.authenticate_call(tx, token=token, real_now=self.clock(),
                                                partner_active=self._partner_active)

    def public_accounts(self, caller: public_api.Caller) -> list[tuple[Member, WhatsAppAccount]]:
        with self.store.transaction() as tx:
            return public_api.workspace_accounts(tx, caller.workspace_id)

    def public_workspace(self, caller: public_api.Caller) -> workspaces.Details:
        return self._at_partner_time(caller.partner_id, workspaces.workspace_details, workspace_id=caller.workspace_id)

    def send_message(self, caller: public_api.Caller, body: dict[str, Any]) -> SentMessage:
        return self._at_partner_time(caller.partner_id, messages.send_message, workspace_id=caller.workspace_id,
                                     body=body)

    def public_message(self, caller: public_api.Caller, uid: str) -> tuple[SentMessage, datetime]:
        """The workspace's message, and the partner's now (its status depends on it)."""
        with self.store.transaction() as tx:
            now = partner_now(tx, caller.partner_id, self.clock())
            return messages.find_message(tx, workspace_id=caller.workspace_id, uid=uid), now

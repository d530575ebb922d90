"""What belongs to a partner beside its workspaces: its test clock, embedding origins, webhook URL,
and its workspaces' Public API tokens (the Clocks, Origins and Tokens ports)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update

from ..auth import Partner
from ..domain.links import token_digest
from ..domain.model import REAL_CLOCK, ClockState, WorkspaceState
from .encoding import opt_instant, opt_us, to_us
from .schema import api_tokens, clocks, partners, webhooks, workspaces
from .statements import InsertFn, Statement, Rows, statement, upsert

_OF_PARTNER = partners.c.id == bindparam("partner_id")


@statement
def _partners(_: InsertFn) -> Statement:
    return select(partners.c.id, partners.c.secret, partners.c.active)


@statement
def _origins(_: InsertFn) -> Statement:
    return select(partners.c.embedding_origins).where(_OF_PARTNER)


@statement
def _set_origins(_: InsertFn) -> Statement:
    return update(partners).where(_OF_PARTNER).values(embedding_origins=bindparam("origins"))


@statement
def _clock(_: InsertFn) -> Statement:
    return select(clocks.c.offset_us, clocks.c.frozen_at).where(clocks.c.partner_id == bindparam("partner_id"))


@statement
def _set_clock(insert: InsertFn) -> Statement:
    return upsert(insert, clocks, ["partner_id"], ["offset_us", "frozen_at"])


@statement
def _real_clock(_: InsertFn) -> Statement:
    return delete(clocks).where(clocks.c.partner_id == bindparam("partner_id"))


@statement
def _webhook_url(_: InsertFn) -> Statement:
    return select(webhooks.c.url).where(webhooks.c.partner_id == bindparam("partner_id"))


@statement
def set_webhook_statement(insert: InsertFn) -> Statement:
    return upsert(insert, webhooks, ["partner_id"], ["url"])


@statement
def _drop_webhook(_: InsertFn) -> Statement:
    return delete(webhooks).where(webhooks.c.partner_id == bindparam("partner_id"))


@statement
def _api_token(_: InsertFn) -> Statement:
    return select(api_tokens.c.token).where(api_tokens.c.workspace_id == bindparam("workspace_id"))


@statement
def _create_api_token(insert: InsertFn) -> Statement:
    return insert(api_tokens).values(workspace_id=bindparam("workspace_id"), token=bindparam("token"),
                                     token_sha256=bindparam("digest"), created_at=bindparam("at")
                                     ).on_conflict_do_nothing(index_elements=["workspace_id"])


@statement
def _replace_api_token(insert: InsertFn) -> Statement:
    return upsert(insert, api_tokens, ["workspace_id"], ["token", "token_sha256", "created_at", "rotated_at"])


@statement
def _api_token_workspace(_: InsertFn) -> Statement:
    return select(api_tokens.c.workspace_id).where(api_tokens.c.token_sha256 == bindparam("digest"))


@statement
def _api_token_home(_: InsertFn) -> Statement:
    return select(workspaces.c.id, workspaces.c.partner_id, workspaces.c.billing_managed).join(
        api_tokens, api_tokens.c.workspace_id == workspaces.c.id).where(api_tokens.c.token_sha256 == bindparam("digest"))


class PartnerRows(Rows):
    def partners(self) -> list[Partner]:
        return [Partner(row["id"], row["secret"], bool(row["active"])) for row in self._all(_partners)]

    def embedding_origins(self, partner_id: str) -> list[str]:
        row = self._one(_origins, partner_id=partner_id)
        return list(json.loads(row["embedding_origins"])) if row else []

    def set_embedding_origins(self, partner_id: str, origins: list[str]) -> None:
        self._run(_set_origins, partner_id=partner_id, origins=json.dumps(origins))

    def clock_state(self, partner_id: str) -> ClockState:
        row = self._one(_clock, partner_id=partner_id)
        if row is None:
            return REAL_CLOCK
        return ClockState(timedelta(microseconds=row["offset_us"]), opt_instant(row["frozen_at"]))

    def set_clock_state(self, partner_id: str, state: ClockState) -> None:
        if state == REAL_CLOCK:
            self._run(_real_clock, partner_id=partner_id)
            return
        self._run(_set_clock, partner_id=partner_id, offset_us=state.offset // timedelta(microseconds=1),
                  frozen_at=opt_us(state.frozen_at))

    def webhook_url(self, partner_id: str) -> str | None:
        row = self._one(_webhook_url, partner_id=partner_id)
        return row["url"] if row else None

    def set_webhook(self, partner_id: str, url: str | None) -> None:
        if url is None:
            self._run(_drop_webhook, partner_id=partner_id)
        else:
            self._run(set_webhook_statement, partner_id=partner_id, url=url)

    # --- workspaces' Public API tokens --------------------------------------------------------------

    def api_token(self, workspace_id: str) -> str | None:
        row = self._one(_api_token, workspace_id=workspace_id)
        return row["token"] if row else None

    def create_api_token(self, workspace_id: str, token: str, at: datetime) -> str:
        """Store the workspace's first token unless one is there already; the token that is there."""
        self._run(_create_api_token, workspace_id=workspace_id, token=token, digest=token_digest(token), at=to_us(at))
        stored: str = self._the(_api_token, workspace_id=workspace_id)["token"]
        return stored

    def replace_api_token(self, workspace_id: str, token: str, at: datetime) -> None:
        self._run(_replace_api_token, workspace_id=workspace_id, token=token, token_sha256=token_digest(token),
                  created_at=to_us(at), rotated_at=to_us(at))

    def api_token_workspace(self, digest: str) -> str | None:
        row = self._one(_api_token_workspace, digest=digest)
        return row["workspace_id"] if row else None

    def api_token_home(self, digest: str) -> WorkspaceState | None:
        """The workspace whose current token has this digest (one read: the Public API's every call)."""
        row = self._one(_api_token_home, digest=digest)
        return WorkspaceState(row["id"], row["partner_id"], bool(row["billing_managed"])) if row else None

"""QR links and their pages' pairing flows (the Links and Flows ports)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, null, select, update

from ..domain.links import token_digest
from ..domain.model import Flow, LinkRecord, OpenLink
from .encoding import from_us, opt_instant, opt_us, to_us
from .schema import link_flows, links, users, workspaces
from .workspaces import OF_USER
from .statements import LAST_ID, InsertFn, Statement, Row, Rows, statement, upsert

_LINK = select(links.c.id, links.c.workspace_id, links.c.user_id, workspaces.c.partner_id, links.c.status,
               links.c.issued_at, links.c.expires_at, links.c.closed_at).join(
    workspaces, workspaces.c.id == links.c.workspace_id)


def _link(row: Row) -> LinkRecord:
    return LinkRecord(row["id"], row["workspace_id"], row["user_id"], row["partner_id"], row["status"],
                      from_us(row["issued_at"]), from_us(row["expires_at"]), opt_instant(row["closed_at"]))


@statement
def _open_link(_: InsertFn) -> Statement:
    return select(links.c.id, links.c.expires_at).where(
        links.c.workspace_id == bindparam("workspace_id"), links.c.user_id == bindparam("user_id"),
        links.c.status == "active")


@statement
def _close_link(_: InsertFn) -> Statement:
    # Closed for good: the raw token is dropped (only its digest stays, to tell the page why).
    return update(links).where(links.c.id == bindparam("link_id")).values(
        status=bindparam("status"), closed_at=bindparam("at"), token=null())


@statement
def _add_link(insert: InsertFn) -> Statement:
    return insert(links).inline().values(workspace_id=bindparam("workspace_id"), user_id=bindparam("user_id"),
                                token_sha256=bindparam("digest"), token=bindparam("token"), status="active",
                                issued_at=bindparam("issued_at"), expires_at=bindparam("expires_at"))


@statement
def _links(_: InsertFn) -> Statement:
    return _LINK.where(links.c.workspace_id == bindparam("workspace_id"), links.c.user_id == bindparam("user_id")
                       ).order_by(links.c.id.desc()).limit(bindparam("limit"))


@statement
def _link_by_digest(_: InsertFn) -> Statement:
    return _LINK.where(links.c.token_sha256 == bindparam("digest"))


@statement
def _open_links(_: InsertFn) -> Statement:
    return select(links.c.user_id, links.c.token, links.c.expires_at).where(
        links.c.workspace_id == bindparam("workspace_id"), links.c.status == "active", links.c.token.is_not(None),
        links.c.user_id <= bindparam("through")).order_by(links.c.user_id)


@statement
def _link_flow(_: InsertFn) -> Statement:
    return select(link_flows).where(link_flows.c.link_id == bindparam("link_id"))


@statement
def _save_link_flow(insert: InsertFn) -> Statement:
    return upsert(insert, link_flows, ["link_id"], ["qr_started_at", "qr_secret", "pairing_code", "pairing_phone",
                                                    "pairing_expires_at", "error_seq", "error"])


@statement
def _next_failure(_: InsertFn) -> Statement:
    return select(users.c.next_failure).where(*OF_USER)


@statement
def _set_next_failure(_: InsertFn) -> Statement:
    return update(users).where(*OF_USER).values(next_failure=bindparam("cause"))


class LinkRows(Rows):
    def open_link(self, workspace_id: str, user_id: int) -> OpenLink | None:
        row = self._one(_open_link, workspace_id=workspace_id, user_id=user_id)
        return OpenLink(row["id"], from_us(row["expires_at"])) if row else None

    def close_link(self, link_id: int, status: str, at: datetime) -> None:
        self._run(_close_link, link_id=link_id, status=status, at=to_us(at))

    def add_link(self, workspace_id: str, user_id: int, token: str, issued_at: datetime,
                 expires_at: datetime) -> None:
        self._run(_add_link, workspace_id=workspace_id, user_id=user_id, digest=token_digest(token), token=token,
                  issued_at=to_us(issued_at), expires_at=to_us(expires_at))

    def links(self, workspace_id: str, user_id: int, limit: int) -> list[LinkRecord]:
        return [_link(row) for row in self._all(_links, workspace_id=workspace_id, user_id=user_id, limit=limit)]

    def link_by_digest(self, digest: str) -> LinkRecord | None:
        row = self._one(_link_by_digest, digest=digest)
        return _link(row) if row else None

    def open_links(self, workspace_id: str, through: int | None = None) -> list[tuple[int, str, datetime]]:
        """(user id, raw token, expires at) of the links the store records as active; with `through`,
        of the users with ids up to it."""
        return [(r["user_id"], r["token"], from_us(r["expires_at"]))
                for r in self._all(_open_links, workspace_id=workspace_id, through=LAST_ID if through is None else through)]

    # --- the pairing flow of a link's page, and forced failures -------------------------------------

    def link_flow(self, link_id: int) -> Flow:
        row = self._one(_link_flow, link_id=link_id)
        if row is None:
            return Flow()
        return Flow(opt_instant(row["qr_started_at"]), row["qr_secret"], row["pairing_code"], row["pairing_phone"],
                    opt_instant(row["pairing_expires_at"]), row["error_seq"], row["error"])

    def save_link_flow(self, link_id: int, flow: Flow) -> None:
        self._run(_save_link_flow, link_id=link_id, qr_started_at=opt_us(flow.qr_started_at),
                  qr_secret=flow.qr_secret, pairing_code=flow.pairing_code, pairing_phone=flow.pairing_phone,
                  pairing_expires_at=opt_us(flow.pairing_expires_at), error_seq=flow.error_seq, error=flow.error)

    def next_failure(self, workspace_id: str, user_id: int) -> str | None:
        row = self._one(_next_failure, workspace_id=workspace_id, user_id=user_id)
        return row["next_failure"] if row else None

    def set_next_failure(self, workspace_id: str, user_id: int, cause: str | None) -> None:
        self._run(_set_next_failure, workspace_id=workspace_id, user_id=user_id, cause=cause)

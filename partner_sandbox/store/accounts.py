"""Users' WhatsApp accounts (the Accounts port)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, null, select, update

from ..domain.model import Member, WhatsAppAccount
from .encoding import from_us, opt_instant, to_us
from .schema import users
from .workspaces import OF_USER
from .statements import LAST_ID, InsertFn, Statement, Row, Rows, statement



def _account(row: Row) -> WhatsAppAccount:
    return WhatsAppAccount(row["wa_account_id"], row["wa_phone"], opt_instant(row["wa_connected_at"]),
                           opt_instant(row["wa_disconnected_at"]), opt_instant(row["wa_last_connected_at"]))


@statement
def _account_of(_: InsertFn) -> Statement:
    return select(users.c.wa_account_id, users.c.wa_phone, users.c.wa_connected_at, users.c.wa_disconnected_at,
                  users.c.wa_last_connected_at).where(*OF_USER, users.c.wa_account_id.is_not(None))


@statement
def _accounts(_: InsertFn) -> Statement:
    return select(users.c.user_id, users.c.wa_account_id, users.c.wa_phone, users.c.wa_connected_at,
                  users.c.wa_disconnected_at, users.c.wa_last_connected_at).where(
        users.c.workspace_id == bindparam("workspace_id"), users.c.wa_account_id.is_not(None),
        users.c.user_id <= bindparam("through")).order_by(users.c.user_id)


@statement
def _owned_accounts(_: InsertFn) -> Statement:
    return select(users.c.user_id, users.c.display_name, users.c.role, users.c.email, users.c.status, users.c.created_at,
                  users.c.wa_account_id, users.c.wa_phone, users.c.wa_connected_at, users.c.wa_disconnected_at,
                  users.c.wa_last_connected_at).where(
        users.c.workspace_id == bindparam("workspace_id"), users.c.wa_account_id.is_not(None)).order_by(users.c.user_id)


@statement
def connect_statement(_: InsertFn) -> Statement:
    return update(users).where(*OF_USER).values(wa_account_id=bindparam("account_id"), wa_phone=bindparam("phone"),
                                                 wa_connected_at=bindparam("at"), wa_last_connected_at=bindparam("at"),
                                                 wa_disconnected_at=null())


@statement
def _disconnect(_: InsertFn) -> Statement:
    return update(users).where(*OF_USER).values(wa_connected_at=null(), wa_disconnected_at=bindparam("at"))


class AccountRows(Rows):
    def account(self, workspace_id: str, user_id: int) -> WhatsAppAccount | None:
        row = self._one(_account_of, workspace_id=workspace_id, user_id=user_id)
        return _account(row) if row else None

    def accounts(self, workspace_id: str, through: int | None = None) -> list[tuple[int, WhatsAppAccount]]:
        """Every account a user of the workspace has had (connected or not), by user; with `through`,
        of the users with ids up to it."""
        return [(row["user_id"], _account(row)) for row in self._all(_accounts, workspace_id=workspace_id,
                                                                      through=LAST_ID if through is None else through)]

    def owned_accounts(self, workspace_id: str) -> list[tuple[Member, WhatsAppAccount]]:
        """Every account a user of the workspace has had, with that user: one read of the users' rows."""
        return [(Member(r["user_id"], r["display_name"], r["role"], r["email"], r["status"], from_us(r["created_at"])),
                 _account(r)) for r in self._all(_owned_accounts, workspace_id=workspace_id)]

    def connect_whatsapp(self, workspace_id: str, user_id: int, account: WhatsAppAccount, at: datetime) -> None:
        self._run(connect_statement, workspace_id=workspace_id, user_id=user_id, account_id=account.account_id,
                  phone=account.phone_number_e164, at=to_us(at))

    def disconnect_whatsapp(self, workspace_id: str, user_id: int, at: datetime) -> None:
        self._run(_disconnect, workspace_id=workspace_id, user_id=user_id, at=to_us(at))

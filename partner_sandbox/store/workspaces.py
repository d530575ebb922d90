"""Workspaces, their users and their use of the plan (the Workspaces, Members and Usage ports)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, false, func, select, update

from ..domain.model import Member, Plan, UserState, Workspace, WorkspaceState
from .encoding import from_us, opt_instant, opt_us, to_us
from .schema import counters, partners, users, workspaces
from .statements import ALL, InsertFn, Statement, Row, Rows, statement

_THE_WORKSPACE = workspaces.c.id == bindparam("workspace_id")
OF_USER = (users.c.workspace_id == bindparam("workspace_id"), users.c.user_id == bindparam("user_id"))


def _state(row: Row) -> WorkspaceState:
    return WorkspaceState(row["id"], row["partner_id"], bool(row["billing_managed"]))


@statement
def _workspace(_: InsertFn) -> Statement:
    return select(workspaces.c.id, workspaces.c.partner_id, workspaces.c.billing_managed).where(_THE_WORKSPACE)


@statement
def _user(_: InsertFn) -> Statement:
    # Rules start here, so on PostgreSQL this row lock queues changes to one user across replicas.
    return select(users.c.wa_connected_at, users.c.status).where(*OF_USER).with_for_update()


@statement
def _user_home(_: InsertFn) -> Statement:
    return select(workspaces.c.id, workspaces.c.partner_id, workspaces.c.billing_managed).join(
        users, users.c.workspace_id == workspaces.c.id).where(users.c.user_id == bindparam("user_id"))


@statement
def _partner_workspaces(_: InsertFn) -> Statement:
    return select(workspaces.c.id).where(workspaces.c.partner_id == bindparam("partner_id"),
                                         workspaces.c.billing_managed == false()).order_by(
        workspaces.c.created_at.desc(), workspaces.c.id).limit(bindparam("limit"))


@statement
def _lock_workspace(_: InsertFn) -> Statement:
    return select(workspaces.c.id).where(_THE_WORKSPACE).with_for_update()


@statement
def _partner_plan(_: InsertFn) -> Statement:
    return select(partners.c.plan_id, partners.c.plan_messages, partners.c.plan_api_calls,
                  partners.c.plan_non_recurring).where(partners.c.id == bindparam("partner_id"))


@statement
def _next_ids(_: InsertFn) -> Statement:
    return update(counters).where(counters.c.name == bindparam("name")).values(
        value=counters.c.value + bindparam("count")).returning(counters.c.value)


@statement
def _add_workspace(insert: InsertFn) -> Statement:
    names = ["id", "partner_id", "display_name", "seats_purchased", "plan_id", "group_id", "created_at",
             "updated_at", "non_recurring_balance", "non_recurring_updated_at"]
    return insert(workspaces).values({n: bindparam(n) for n in names}).on_conflict_do_nothing(
        index_elements=["id"]).returning(workspaces.c.id)


@statement
def _update_workspace(_: InsertFn) -> Statement:
    return update(workspaces).where(_THE_WORKSPACE).values(
        display_name=func.coalesce(bindparam("display_name"), workspaces.c.display_name),
        seats_purchased=func.coalesce(bindparam("seats"), workspaces.c.seats_purchased),
        updated_at=bindparam("at"))


@statement
def add_members_statement(insert: InsertFn) -> Statement:
    names = ["workspace_id", "user_id", "status", "role", "display_name", "email", "created_at"]
    return insert(users).values({n: bindparam(n) for n in names})


@statement
def _members(_: InsertFn) -> Statement:
    return select(users.c.user_id, users.c.display_name, users.c.role, users.c.email, users.c.status,
                  users.c.created_at).where(users.c.workspace_id == bindparam("workspace_id")).order_by(
        users.c.user_id).limit(bindparam("limit"))


@statement
def _member_count(_: InsertFn) -> Statement:
    return select(func.count().label("count")).where(users.c.workspace_id == bindparam("workspace_id"))


@statement
def _set_user_status(_: InsertFn) -> Statement:
    return update(users).where(*OF_USER).values(status=bindparam("status"))


@statement
def _workspace_record(_: InsertFn) -> Statement:
    of_workspace = users.c.workspace_id == workspaces.c.id
    seats_used = select(func.count()).where(of_workspace, users.c.status == "active").scalar_subquery()
    owner = select(func.min(users.c.user_id)).where(of_workspace, users.c.role == "owner").scalar_subquery()
    return select(workspaces, seats_used.label("seats_used"), owner.label("owner_user_id")).where(_THE_WORKSPACE)


@statement
def _usage(_: InsertFn) -> Statement:
    return select(workspaces.c.usage_period, workspaces.c.messages_used, workspaces.c.api_calls_used,
                  workspaces.c.non_recurring_balance, workspaces.c.non_recurring_updated_at,
                  workspaces.c.alerts_period, workspaces.c.alerts).where(_THE_WORKSPACE)


@statement
def _set_fired_alerts(_: InsertFn) -> Statement:
    return update(workspaces).where(_THE_WORKSPACE).values(alerts_period=bindparam("period"),
                                                           alerts=bindparam("alerts"))


@statement
def _set_usage(_: InsertFn) -> Statement:
    return update(workspaces).where(_THE_WORKSPACE).values(
        usage_period=bindparam("period"), messages_used=bindparam("messages"), api_calls_used=bindparam("api_calls"),
        non_recurring_balance=bindparam("balance"), non_recurring_updated_at=bindparam("balance_updated"))


def member_row(workspace_id: str, member: Member) -> dict[str, object]:
    return member_values(workspace_id, member.user_id, member.status, member.role, member.display_name, member.email,
                         to_us(member.created_at))


def member_values(workspace_id: str, user_id: int, status: str, role: str, display_name: str, email: str,
                  created_at_us: int) -> dict[str, object]:
    """A member's row (the seed makes a large world's rows from its fields, with no Member)."""
    return {"workspace_id": workspace_id, "user_id": user_id, "status": status, "role": role,
            "display_name": display_name, "email": email, "created_at": created_at_us}


class WorkspaceRows(Rows):
    def workspace(self, workspace_id: str) -> WorkspaceState | None:
        row = self._one(_workspace, workspace_id=workspace_id)
        return _state(row) if row else None

    def user(self, workspace_id: str, user_id: int) -> UserState | None:
        row = self._one(_user, workspace_id=workspace_id, user_id=user_id)
        return UserState(workspace_id, user_id, row["wa_connected_at"] is not None, row["status"]) if row else None

    def user_home(self, user_id: int) -> WorkspaceState | None:
        row = self._one(_user_home, user_id=user_id)
        return _state(row) if row else None

    def partner_workspaces(self, partner_id: str, limit: int) -> list[str]:
        """The ids of the partner's workspaces the Partner API manages (not billed directly), newest first."""
        return [row["id"] for row in self._all(_partner_workspaces, partner_id=partner_id, limit=limit)]

    def lock_workspace(self, workspace_id: str) -> None:
        """Queue changes to a workspace's seats (PostgreSQL; a SQLite transaction holds the database)."""
        if self._row_locks:
            self._one(_lock_workspace, workspace_id=workspace_id)

    def partner_plan(self, partner_id: str) -> Plan:
        row = self._the(_partner_plan, partner_id=partner_id)
        return Plan(row["plan_id"], row["plan_messages"], row["plan_api_calls"], row["plan_non_recurring"])

    def next_ids(self, name: str, count: int) -> int:
        """Reserve `count` consecutive ids of a counter. On PostgreSQL they are taken out of the
        transaction, on a connection aside, as a sequence hands out numbers: the counter's row is
        locked for that one statement, not until the caller commits, so creations do not queue on it
        across replicas (ids of a transaction that rolls back are not reused). On SQLite the
        transaction holds the database anyway."""
        sql, constants = self._compiled[_next_ids]
        params = {**constants, "name": name, "count": count}
        if self._aside is None:
            value: int = self._the(_next_ids, name=name, count=count)["value"]
        else:
            with self._aside() as conn:
                value = conn.execute(sql, params).fetchone()["value"]
        return value - count

    def add_workspace(self, workspace_id: str, partner_id: str, display_name: str, seats: int, plan: Plan,
                      group_id: int, at: datetime) -> bool:
        """Insert the workspace unless its id is taken (also by a transaction racing this one): inserted?"""
        stamp = to_us(at)
        return self._one(_add_workspace, id=workspace_id, partner_id=partner_id, display_name=display_name,
                         seats_purchased=seats, plan_id=plan.id, group_id=group_id, created_at=stamp,
                         updated_at=stamp, non_recurring_balance=plan.non_recurring,
                         non_recurring_updated_at=stamp) is not None

    def update_workspace(self, workspace_id: str, display_name: str | None, seats: int | None,
                         at: datetime) -> None:
        self._run(_update_workspace, workspace_id=workspace_id, display_name=display_name, seats=seats, at=to_us(at))

    def add_members(self, workspace_id: str, members: list[Member]) -> None:
        self._many(add_members_statement, [member_row(workspace_id, m) for m in members])

    def members(self, workspace_id: str, limit: int | None = None) -> list[Member]:
        """The workspace's users by id; with `limit`, the first that many."""
        return [Member(r["user_id"], r["display_name"], r["role"], r["email"], r["status"], from_us(r["created_at"]))
                for r in self._all(_members, workspace_id=workspace_id, limit=ALL if limit is None else limit)]

    def member_count(self, workspace_id: str) -> int:
        count: int = self._the(_member_count, workspace_id=workspace_id)["count"]
        return count

    def set_user_status(self, workspace_id: str, user_id: int, status: str) -> None:
        self._run(_set_user_status, workspace_id=workspace_id, user_id=user_id, status=status)

    def workspace_record(self, workspace_id: str) -> Workspace:
        r = self._the(_workspace_record, workspace_id=workspace_id)
        return Workspace(r["id"], r["partner_id"], r["display_name"], r["plan_id"], r["seats_purchased"],
                         r["seats_used"], r["group_id"], from_us(r["created_at"]), from_us(r["updated_at"]),
                         r["owner_user_id"])

    # --- use of the plan in the billing period, and the alerts sent in it ---------------------------

    def usage(self, workspace_id: str) -> tuple[datetime | None, int, int, int, datetime | None]:
        """(period start of the counters, messages used, API calls used, non-recurring balance, its update)."""
        r = self._the(_usage, workspace_id=workspace_id)
        return (opt_instant(r["usage_period"]), r["messages_used"], r["api_calls_used"], r["non_recurring_balance"],
                opt_instant(r["non_recurring_updated_at"]))

    def fired_alerts(self, workspace_id: str, period: datetime) -> set[str]:
        """The once-a-period events already sent for the workspace in the period starting at `period`."""
        r = self._the(_usage, workspace_id=workspace_id)
        if r["alerts_period"] != to_us(period):
            return set()
        return {a for a in r["alerts"].split(",") if a}

    def set_fired_alerts(self, workspace_id: str, period: datetime, alerts: set[str]) -> None:
        self._run(_set_fired_alerts, workspace_id=workspace_id, period=to_us(period), alerts=",".join(sorted(alerts)))

    def set_usage(self, workspace_id: str, period: datetime, messages: int, api_calls: int, balance: int,
                  balance_updated: datetime | None) -> None:
        self._run(_set_usage, workspace_id=workspace_id, period=to_us(period), messages=messages, api_calls=api_calls,
                  balance=balance, balance_updated=opt_us(balance_updated))

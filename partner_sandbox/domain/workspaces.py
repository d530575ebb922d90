"""The rules of workspaces and their users: creation with an owner, details with seats and quotas,
renaming and seat changes (a downgrade suspends the newest agents), all-or-nothing user creation,
and simulated use of the quotas (the threshold events are in alerts.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from typing import Protocol

from ..errors import ApiError
from . import alerts
from .accounts import disconnect_account
from .clock import billing_period
from .model import USER_ACTIVE, USER_SUSPENDED, Member, Plan, Suspension, Usage, WhatsAppAccount, Workspace
from .ownership import Ownership, owned_workspace
from .ports import Accounts, Events, Links, PlanUse


class WorkspaceTx(Ownership, Links, Accounts, Events, PlanUse, Protocol):
    pass

WORKSPACE_ID_LENGTH = 30
ROLE_OWNER = "owner"
ROLE_AGENT = "agent"


def system_email(user_id: int, workspace_id: str) -> str:
    """The non-login, system-managed address of a partner-created user."""
    return f"{user_id}-{workspace_id}@partners.timelines.ai"


def workspace_id_for(display_name: str) -> str:
    """The identifier derived from a display name: lower-case, cut to 30 characters."""
    return display_name.lower()[:WORKSPACE_ID_LENGTH]


def display_name_for(role: str, user_id: int) -> str:
    """A partner-created (or fixture) user's display name: `Owner 100000`, `Agent 100001`."""
    return f"{role.title()} {user_id}"


def _new_members(tx: WorkspaceTx, workspace_id: str, count: int, role: str, now: datetime) -> list[Member]:
    first = tx.next_ids("user_id", count)
    members = [Member(user_id, display_name_for(role, user_id), role, system_email(user_id, workspace_id), USER_ACTIVE,
                      now) for user_id in range(first, first + count)]
    tx.add_members(workspace_id, members)
    return members


def create_workspace(tx: WorkspaceTx, *, partner_id: str, display_name: str, seats_purchased: int,
                     now: datetime) -> Workspace:
    """A workspace on the partner's plan, with an Owner user taking one seat; 409 when the derived id
    is taken (by any partner), and then nothing is written."""
    workspace_id = workspace_id_for(display_name)
    taken = ApiError("workspace_creation_failed", f"A workspace with the id '{workspace_id}' exists already")
    if tx.workspace(workspace_id) is not None:
        raise taken
    plan = tx.partner_plan(partner_id)
    group_id = tx.next_ids("group_id", 1)
    if not tx.add_workspace(workspace_id, partner_id, display_name, seats_purchased, plan, group_id, now):
        raise taken  # a concurrent creation of the same id won (PostgreSQL); this transaction rolls back
    _new_members(tx, workspace_id, 1, ROLE_OWNER, now)
    return _seats_checked(tx, partner_id, workspace_id, now)


def _seats_checked(tx: WorkspaceTx, partner_id: str, workspace_id: str, now: datetime) -> Workspace:
    """The workspace after a change of its seats or users, and `workspace:seats_full` when none is left."""
    record = tx.workspace_record(workspace_id)
    alerts.check_seats(tx, partner_id, workspace_id, record.seats_purchased, record.seats_available,
                       billing_period(now)[0], now)
    return record


def update_workspace(tx: WorkspaceTx, *, partner_id: str, workspace_id: str, display_name: str | None,
                     seats_purchased: int | None, now: datetime) -> Workspace:
    """Change what was sent; the id stays. Seats lowered below those in use suspend the newest agents
    first (never the owner): each one's account is disconnected and its active link revoked."""
    owned_workspace(tx, partner_id, workspace_id)
    tx.lock_workspace(workspace_id)
    suspended: list[Suspension] = []
    if seats_purchased is not None:
        active = [m for m in tx.members(workspace_id) if m.status == USER_ACTIVE]
        excess = len(active) - seats_purchased
        newest_agents = sorted((m for m in active if m.role != ROLE_OWNER), key=lambda m: (m.created_at, m.user_id),
                               reverse=True)
        for member in newest_agents[:max(0, excess)]:
            suspended.append(_suspend(tx, partner_id, workspace_id, member.user_id, now))
    if display_name is not None or seats_purchased is not None:  # an empty body changes nothing
        tx.update_workspace(workspace_id, display_name, seats_purchased, now)
    if seats_purchased is None:
        record = tx.workspace_record(workspace_id)
    else:
        record = _seats_checked(tx, partner_id, workspace_id, now)
    return replace(record, suspended=tuple(suspended))


def _suspend(tx: WorkspaceTx, partner_id: str, workspace_id: str, user_id: int, now: datetime) -> Suspension:
    tx.user(workspace_id, user_id)  # the user's row locked (PostgreSQL), as a scan or an issuance locks it
    connected = disconnect_account(tx, partner_id, workspace_id, user_id, now,
                                   "(user suspended: the workspace's seats were lowered)")
    link = tx.open_link(workspace_id, user_id)
    if link is not None:
        tx.close_link(link.id, "revoked" if now < link.expires_at else "expired", now)
    tx.set_user_status(workspace_id, user_id, USER_SUSPENDED)
    return Suspension(user_id, connected.account_id if connected else None,
                      (connected.phone_number_e164,) if connected else ())


def create_users(tx: WorkspaceTx, *, partner_id: str, workspace_id: str, count: int,
                 now: datetime) -> tuple[Workspace, list[Member]]:
    """`count` agents, one seat each, all or nothing: `409 seats_full` when fewer seats are free."""
    owned_workspace(tx, partner_id, workspace_id)
    tx.lock_workspace(workspace_id)
    record = tx.workspace_record(workspace_id)
    if count > record.seats_available:
        raise ApiError("seats_full", f"{count} user(s) asked for, {record.seats_available} of"
                                     f" {record.seats_purchased} seat(s) free in workspace '{workspace_id}'")
    members = _new_members(tx, workspace_id, count, ROLE_AGENT, now)
    return _seats_checked(tx, partner_id, workspace_id, now), members


# --- details, and use of the plan's quotas ---------------------------------------------------------

@dataclass(frozen=True)
class Details:
    workspace: Workspace
    plan: Plan
    usage: Usage
    members: list[Member]
    accounts: list[tuple[int, WhatsAppAccount]]  # by user id
    links: list[tuple[int, str, datetime]]  # (user id, raw token, expires at) of the active links
    users_total: int | None = None  # how many users the workspace has, when `members` lists only the first


def current_usage(tx: WorkspaceTx, workspace_id: str, now: datetime) -> Usage:
    """The use of the billing period `now` is in: counters of an earlier period count as zero."""
    start, end = billing_period(now)
    period, messages, api_calls, balance, updated = tx.usage(workspace_id)
    if period is None or period != start:
        messages = api_calls = 0
    return Usage(start, end, messages, api_calls, balance, updated)


def workspace_details(tx: WorkspaceTx, *, partner_id: str, workspace_id: str, now: datetime,
                      users: int | None = None) -> Details:
    """The workspace's details; with `users`, only its first that many users (by id) with their
    accounts and links, read as such (the cost does not grow with the workspace), and how many in all."""
    owned_workspace(tx, partner_id, workspace_id)
    record = tx.workspace_record(workspace_id)
    members = tx.members(workspace_id, limit=users)
    through = members[-1].user_id if users is not None and members else None
    total = tx.member_count(workspace_id) if users is not None else None
    links = [(user_id, token, expires) for user_id, token, expires in tx.open_links(workspace_id, through)
             if now < expires]
    return Details(record, tx.partner_plan(partner_id), current_usage(tx, workspace_id, now), members,
                   tx.accounts(workspace_id, through), links, total)


def partner_world(tx: WorkspaceTx, *, partner_id: str, now: datetime, limit: int, users: int) -> list[Details]:
    """The details of the partner's workspaces the Partner API manages, newest first (at most `limit`),
    each with its first `users` users."""
    return [workspace_details(tx, partner_id=partner_id, workspace_id=workspace_id, now=now, users=users)
            for workspace_id in tx.partner_workspaces(partner_id, limit)]


USAGE_KINDS = ("messages", "api_calls", "transactions")


def simulate_usage(tx: WorkspaceTx, *, partner_id: str, workspace_id: str, kind: str, amount: int,
                   now: datetime) -> Details:
    """Use some of a quota in the current period: messages or Public API calls count up; transactions
    spend the non-recurring balance (never below zero)."""
    owned_workspace(tx, partner_id, workspace_id)
    spend(tx, partner_id, workspace_id, now, messages=amount if kind == "messages" else 0,
          api_calls=amount if kind == "api_calls" else 0, transactions=amount if kind == "transactions" else 0)
    return workspace_details(tx, partner_id=partner_id, workspace_id=workspace_id, now=now)


def spend(tx: WorkspaceTx, partner_id: str, workspace_id: str, now: datetime, *, messages: int = 0,
          api_calls: int = 0, transactions: int = 0, before: tuple[Plan, Usage] | None = None) -> Usage:
    """The one rule of quota use, simulated (the control API) or real (the Public API's calls and
    messages): the period's counters move, then the quota events they reach are sent, each once a
    period (alerts.check_quotas). The use after. `before`: the plan and the use the caller has just
    read with the workspace locked (not read again)."""
    if before is None:
        tx.lock_workspace(workspace_id)
        before = tx.partner_plan(partner_id), current_usage(tx, workspace_id, now)
    plan, usage = before
    balance, updated = usage.non_recurring_balance, usage.non_recurring_updated_at
    if transactions:
        balance, updated = max(0, balance - transactions), now
    usage = replace(usage, messages=usage.messages + messages, api_calls=usage.api_calls + api_calls,
                    non_recurring_balance=balance, non_recurring_updated_at=updated)
    tx.set_usage(workspace_id, usage.period_start, usage.messages, usage.api_calls, balance, updated)
    alerts.check_quotas(tx, partner_id, workspace_id, plan, usage, now, transactions_spent=transactions > 0)
    return usage

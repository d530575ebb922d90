"""The schema created (or, at another schema version, dropped and created again), the world seeded
from the fixtures, and one partner's workspaces put back as the fixtures have them."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select

from ..domain.links import new_link_token
from ..domain.workspaces import display_name_for, system_email
from ..fixtures import PartnerFixture, World
from .accounts import connect_statement
from .encoding import to_us
from .partners import set_webhook_statement
from .schema import (
    SCHEMA_VERSION, TABLES, api_tokens, clocks, counters, create_statements, link_flows, links, messages, meta, partners,
    users, workspaces,
)
from .statements import InsertFn, Statement, Statements, statement
from .links import LinkRows
from .workspaces import WorkspaceRows, add_members_statement, member_values

log = logging.getLogger("partner_sandbox.store")
_OWNED = select(workspaces.c.id).where(workspaces.c.partner_id == bindparam("partner_id")).scalar_subquery()


@statement
def _meta(_: InsertFn) -> Statement:
    return select(meta.c.value).where(meta.c.key == bindparam("key"))


@statement
def _set_meta(insert: InsertFn) -> Statement:
    return insert(meta).values(key=bindparam("key"), value=bindparam("value")).on_conflict_do_nothing(
        index_elements=["key"])


@statement
def _add_partner(insert: InsertFn) -> Statement:
    names = ["id", "secret", "active", "plan_id", "plan_messages", "plan_api_calls", "plan_non_recurring",
             "embedding_origins"]
    return insert(partners).values({n: bindparam(n) for n in names})


@statement
def _add_counter(insert: InsertFn) -> Statement:
    return insert(counters).values(name=bindparam("name"), value=bindparam("value"))


@statement
def _add_seeded_workspace(insert: InsertFn) -> Statement:
    names = ["id", "partner_id", "billing_managed", "display_name", "seats_purchased", "plan_id", "group_id",
             "created_at", "updated_at", "non_recurring_balance", "non_recurring_updated_at"]
    return insert(workspaces).values({n: bindparam(n) for n in names})


# One partner's world, emptied dependents first.
_RESET = [
    statement(lambda _: delete(messages).where(messages.c.workspace_id.in_(_OWNED))),
    statement(lambda _: delete(link_flows).where(link_flows.c.link_id.in_(
        select(links.c.id).where(links.c.workspace_id.in_(_OWNED))))),
    statement(lambda _: delete(links).where(links.c.workspace_id.in_(_OWNED))),
    statement(lambda _: delete(api_tokens).where(api_tokens.c.workspace_id.in_(_OWNED))),
    statement(lambda _: delete(users).where(users.c.workspace_id.in_(_OWNED))),
    statement(lambda _: delete(workspaces).where(workspaces.c.partner_id == bindparam("partner_id"))),
    statement(lambda _: delete(clocks).where(clocks.c.partner_id == bindparam("partner_id"))),
]


def migrate(conn: object, statements: Statements, meta_exists: str, tables: str) -> None:
    """Create the schema; a database of another schema version is dropped first (and re-seeded):
    every table in it (`tables` lists them), those this version does not know first, as they may
    refer to the others; PostgreSQL drops with CASCADE."""
    execute = conn.execute  # type: ignore[attr-defined]
    if execute(meta_exists).fetchone():
        row = execute(statements[_meta].sql, {"key": "schema_version"}).fetchone()
        version = row["value"] if row else "1"
        if version != SCHEMA_VERSION:
            log.warning("the database holds a sandbox world of schema version %s, this sandbox uses %s:"
                        " dropped, to be seeded again from the fixtures", version, SCHEMA_VERSION)
            found = {row["name"] for row in execute(tables).fetchall()}
            cascade = " CASCADE" if statements.dialect.name == "postgresql" else ""
            for table in [*sorted(found - set(TABLES)), *(t for t in TABLES if t in found)]:
                execute(f'DROP TABLE IF EXISTS "{table}"{cascade}')
    for ddl in create_statements(statements.dialect):
        execute(ddl)
    execute(statements[_set_meta].sql, {"key": "schema_version", "value": SCHEMA_VERSION})


class SeedRows(WorkspaceRows, LinkRows):
    def seed_if_empty(self, world: World, now: datetime, reset: bool) -> bool:
        """Seed from the fixtures when the store is empty (or when `reset`); True if it seeded."""
        if self._one(_meta, key="seeded_at") and not reset:
            return False
        for table in TABLES:
            self._conn.execute(f"DELETE FROM {table}")
        # Ids handed out later start past every fixture user (and at 100000 at least, to tell them apart).
        fixture_users = (u.id for p in world.partners for w in p.workspaces for u in w.users)
        self._run(_add_counter, name="user_id", value=max(99_999, max(fixture_users, default=0)) + 1)
        self._run(_add_counter, name="group_id", value=1)
        for partner in world.partners:
            plan = partner.plan
            self._run(_add_partner, id=partner.id, secret=partner.secret, active=partner.active, plan_id=plan.id,
                      plan_messages=plan.messages, plan_api_calls=plan.api_calls,
                      plan_non_recurring=plan.non_recurring, embedding_origins=json.dumps(list(partner.embedding_origins)))
            if partner.webhook_url:
                self._run(set_webhook_statement, partner_id=partner.id, url=partner.webhook_url)
            self._seed_workspaces(partner, now)
        self._run(_set_meta, key="seeded_at", value=str(to_us(now)))
        self._run(_set_meta, key="schema_version", value=SCHEMA_VERSION)
        return True

    def reset_partner(self, partner: PartnerFixture, now: datetime) -> None:
        """The partner's workspaces back to the fixtures, its clock back to real time."""
        for step in _RESET:
            self._run(step, partner_id=partner.id)
        self._seed_workspaces(partner, now)

    def _seed_workspaces(self, partner: PartnerFixture, now: datetime) -> None:
        stamp = to_us(now)
        first_group = self.next_ids("group_id", len(partner.workspaces)) if partner.workspaces else 0
        self._many(_add_seeded_workspace, [
            {"id": ws.id, "partner_id": partner.id, "billing_managed": ws.billing_managed,
             "display_name": ws.display_name or ws.id, "seats_purchased": ws.seats, "plan_id": partner.plan.id,
             "group_id": first_group + i, "created_at": stamp, "updated_at": stamp,
             "non_recurring_balance": partner.plan.non_recurring, "non_recurring_updated_at": stamp}
            for i, ws in enumerate(partner.workspaces)])
        # Each user's row made as it is inserted: a world of 1,000,000 users holds no Member and no
        # list of rows (seconds, and memory).
        self._many(add_members_statement, (
            member_values(ws.id, user.id, user.status, user.role, display_name_for(user.role, user.id),
                          system_email(user.id, ws.id), stamp)
            for ws in partner.workspaces for user in ws.users))
        self._many(connect_statement, [
            {"workspace_id": ws.id, "user_id": user.id, "account_id": user.whatsapp.account_id,
             "phone": user.whatsapp.phone_number_e164, "at": stamp}
            for ws in partner.workspaces for user in ws.users if user.whatsapp])
        for ws in partner.workspaces:
            for user in ws.users:
                if user.active_link:
                    link = user.active_link
                    issued = now.replace(microsecond=0)  # links are issued on whole seconds
                    self.add_link(ws.id, user.id, link.token or new_link_token(), issued,
                                  issued + timedelta(hours=link.expires_in_hours))

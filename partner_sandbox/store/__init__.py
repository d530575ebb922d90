"""Durable sandbox state: the Store interface, and its SQLite and PostgreSQL implementations."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, ContextManager, Iterator, Protocol

from ..auth import Partner
from ..domain.clock import rfc3339
from ..domain.links import new_link_token, token_digest
from ..domain.model import (
    REAL_CLOCK, ClockState, Flow, LinkRecord, Member, OpenLink, Plan, UserState, WhatsAppAccount, Workspace,
    WorkspaceState,
)
from ..domain.workspaces import display_name_for, system_email
from ..errors import ApiError
from ..fixtures import PartnerFixture, World

# The schema of both backends; {id} and {bigint} are filled in per dialect.
SCHEMA_TEMPLATE = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS partners (
    id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    plan_id INTEGER NOT NULL,
    plan_messages {bigint} NOT NULL,
    plan_api_calls {bigint} NOT NULL,
    plan_non_recurring {bigint} NOT NULL,
    embedding_origins TEXT NOT NULL DEFAULT '[]'  -- JSON: the origins that may frame its QR links
);
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL REFERENCES partners(id),
    billing_managed BOOLEAN NOT NULL DEFAULT FALSE,
    display_name TEXT NOT NULL,
    seats_purchased INTEGER NOT NULL,
    plan_id INTEGER NOT NULL,
    group_id {bigint} NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    -- use of the current billing period (usage_period is its start), and the non-recurring balance
    usage_period TEXT,
    messages_used {bigint} NOT NULL DEFAULT 0,
    api_calls_used {bigint} NOT NULL DEFAULT 0,
    non_recurring_balance {bigint} NOT NULL DEFAULT 0,
    non_recurring_updated_at TEXT,
    -- the once-a-period webhook events sent in alerts_period (its start), comma-separated
    alerts_period TEXT,
    alerts TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS users (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    user_id {bigint} NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    role TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('owner', 'agent')),
    display_name TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at TEXT NOT NULL,
    wa_account_id {bigint},
    wa_phone TEXT,
    wa_connected_at TEXT,
    wa_disconnected_at TEXT,
    next_failure TEXT,  -- a failure forced on the user's next pairing step (pairing.FAILURES)
    PRIMARY KEY (workspace_id, user_id)
);
CREATE TABLE IF NOT EXISTS links (
    id {id},
    workspace_id TEXT NOT NULL,
    user_id {bigint} NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    token TEXT,  -- the raw token while the link is active (workspace details list its URL), then NULL
    status TEXT NOT NULL CHECK (status IN ('active', 'revoked', 'expired', 'used')),
    issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    closed_at TEXT,
    FOREIGN KEY (workspace_id, user_id) REFERENCES users (workspace_id, user_id)
);
-- The pairing flow of a link's page (pairing.py): QR rotation, a pairing code, the last error.
CREATE TABLE IF NOT EXISTS link_flows (
    link_id {bigint} PRIMARY KEY REFERENCES links(id),
    qr_started_at TEXT,
    qr_secret TEXT,
    pairing_code TEXT,
    pairing_phone TEXT,
    pairing_expires_at TEXT,
    error_seq INTEGER NOT NULL,
    error TEXT
);
-- Identifiers handed out across the world (user ids, group ids): next value of each.
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value {bigint} NOT NULL);
CREATE TABLE IF NOT EXISTS clocks (
    partner_id TEXT PRIMARY KEY REFERENCES partners(id),
    offset_us {bigint} NOT NULL,
    frozen_at TEXT
);
CREATE TABLE IF NOT EXISTS journal (
    id {id},
    partner_id TEXT NOT NULL,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_by_partner ON journal (partner_id, id);
CREATE TABLE IF NOT EXISTS journal_counts (partner_id TEXT PRIMARY KEY, written {bigint} NOT NULL);
CREATE TABLE IF NOT EXISTS webhooks (partner_id TEXT PRIMARY KEY, url TEXT NOT NULL);
-- The outbox: an event is written in the transaction of the change that causes it.
CREATE TABLE IF NOT EXISTS webhook_events (
    id {id},
    event_id TEXT NOT NULL UNIQUE,
    partner_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    user_id {bigint},  -- NULL for the workspace's own events (seats, quotas, tokens)
    body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    round_attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at {real} NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_events_due ON webhook_events (status, next_attempt_at);
CREATE INDEX IF NOT EXISTS webhook_events_by_workspace ON webhook_events (workspace_id, id);
CREATE INDEX IF NOT EXISTS webhook_events_by_partner ON webhook_events (partner_id, id);
CREATE TABLE IF NOT EXISTS webhook_attempts (
    id {id},
    event_row {bigint} NOT NULL,
    at TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    latency_ms {real} NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_attempts_by_event ON webhook_attempts (event_row, id);
-- A workspace's Public API token: the raw value (the Partner API gives it back until it is
-- rotated) and its digest, to tell which workspace a token opens.
CREATE TABLE IF NOT EXISTS api_tokens (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id),
    token TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    rotated_at TEXT
);
-- The production rate limit's token buckets (one per client IP), shared by workers and replicas.
CREATE TABLE IF NOT EXISTS rate_buckets (key TEXT PRIMARY KEY, tokens {real} NOT NULL, at {real} NOT NULL);
-- User ids are unique across the service, as in the real one.
CREATE UNIQUE INDEX IF NOT EXISTS users_by_id ON users (user_id);
-- The rule "one active link per user", backed by the database itself.
CREATE UNIQUE INDEX IF NOT EXISTS one_active_link_per_user
    ON links (workspace_id, user_id) WHERE status = 'active';
"""
# Raised when the schema changes. A database of another version holds a sandbox world of another
# shape: it is dropped and seeded again from the fixtures (sandbox state is disposable), and said so.
SCHEMA_VERSION = "5"
TABLES = ("journal_counts", "rate_buckets", "link_flows", "links", "api_tokens", "users", "workspaces", "counters", "clocks", "journal", "webhook_attempts",
          "webhook_events", "webhooks", "partners", "meta")
SQLITE_SCHEMA = SCHEMA_TEMPLATE.format(id="INTEGER PRIMARY KEY", bigint="INTEGER", real="REAL")
POSTGRES_SCHEMA = SCHEMA_TEMPLATE.format(
    id="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", bigint="BIGINT", real="DOUBLE PRECISION"
)


class Store(Protocol):
    """What the app needs from a store; each transaction is atomic and isolated."""

    def transaction(self, *, durable: bool = True) -> ContextManager[SqlTransaction]: ...

    def seed_if_empty(self, world: World, now: datetime, *, reset: bool = False) -> bool: ...

    def partners(self) -> list[Partner]: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


log = logging.getLogger("partner_sandbox.store")
SYNC_MODES = {"normal": "NORMAL", "full": "FULL"}
JOURNAL_LIMIT = 200  # entries kept per partner
JOURNAL_TRIM_EVERY = 20

_LINK_COLUMNS = (
    "l.id, l.workspace_id, l.user_id, w.partner_id, l.status, l.issued_at, l.expires_at, l.closed_at"
    " FROM links l JOIN workspaces w ON w.id = l.workspace_id"
)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text is not None else None


def _stamp(moment: datetime | None) -> str | None:
    """Stored times keep microseconds (a test clock may be set to any instant)."""
    return moment.astimezone(timezone.utc).isoformat() if moment is not None else None


def _link(row) -> LinkRecord:
    return LinkRecord(row[0], row[1], row[2], row[3], row[4], _time(row[5]), _time(row[6]), _time(row[7]))


class _Sql:
    """One open connection's statements, written once with `?` placeholders for both backends."""

    def __init__(self, conn, *, placeholder: str = "?", for_update: str = ""):
        self._raw = conn
        self._placeholder = placeholder
        self.for_update = for_update  # row lock on a user, where the backend has one

    def _sql(self, sql: str) -> str:
        return sql if self._placeholder == "?" else sql.replace("?", self._placeholder)

    def execute(self, sql: str, params=()):
        return self._raw.execute(self._sql(sql), params)

    def executemany(self, sql: str, rows) -> None:
        cursor = self._raw.cursor()
        cursor.executemany(self._sql(sql), rows)


class SqlTransaction:
    """The domain's Transaction inside one open database transaction, on either backend."""

    def __init__(self, conn: _Sql):
        self._conn = conn

    def workspace(self, workspace_id: str) -> WorkspaceState | None:
        row = self._conn.execute(
            "SELECT id, partner_id, billing_managed FROM workspaces WHERE id = ?", (workspace_id,)
        ).fetchone()
        return WorkspaceState(row[0], row[1], bool(row[2])) if row else None

    def user(self, workspace_id: str, user_id: int) -> UserState | None:
        # Rules start here, so on PostgreSQL this row lock queues changes to one user across replicas.
        row = self._conn.execute(
            "SELECT wa_connected_at IS NOT NULL, status FROM users WHERE workspace_id = ? AND user_id = ?"
            + self._conn.for_update,
            (workspace_id, user_id),
        ).fetchone()
        return UserState(workspace_id, user_id, bool(row[0]), row[1]) if row else None

    def user_home(self, user_id: int) -> WorkspaceState | None:
        row = self._conn.execute(
            "SELECT w.id, w.partner_id, w.billing_managed FROM users u JOIN workspaces w ON w.id = u.workspace_id"
            " WHERE u.user_id = ?",
            (user_id,),
        ).fetchone()
        return WorkspaceState(row[0], row[1], bool(row[2])) if row else None

    def open_link(self, workspace_id: str, user_id: int) -> OpenLink | None:
        row = self._conn.execute(
            "SELECT id, expires_at FROM links WHERE workspace_id = ? AND user_id = ? AND status = 'active'",
            (workspace_id, user_id),
        ).fetchone()
        return OpenLink(row[0], _time(row[1])) if row else None

    def close_link(self, link_id: int, status: str, at: datetime) -> None:
        """Closed for good: the raw token is dropped (only its digest stays, to tell the page why)."""
        self._conn.execute(
            "UPDATE links SET status = ?, closed_at = ?, token = NULL WHERE id = ?", (status, rfc3339(at), link_id)
        )

    def disconnect_whatsapp(self, workspace_id: str, user_id: int, at: datetime) -> None:
        self._conn.execute(
            "UPDATE users SET wa_connected_at = NULL, wa_disconnected_at = ? WHERE workspace_id = ? AND user_id = ?",
            (rfc3339(at), workspace_id, user_id),
        )

    def add_link(
        self, workspace_id: str, user_id: int, token: str, issued_at: datetime, expires_at: datetime
    ) -> None:
        self._conn.execute(
            "INSERT INTO links (workspace_id, user_id, token_sha256, token, status, issued_at, expires_at)"
            " VALUES (?, ?, ?, ?, 'active', ?, ?)",
            (workspace_id, user_id, token_digest(token), token, rfc3339(issued_at), rfc3339(expires_at)),
        )

    def connect_whatsapp(self, workspace_id: str, user_id: int, account: WhatsAppAccount, at: datetime) -> None:
        self._conn.execute(
            "UPDATE users SET wa_account_id = ?, wa_phone = ?, wa_connected_at = ?, wa_disconnected_at = NULL"
            " WHERE workspace_id = ? AND user_id = ?",
            (account.account_id, account.phone_number_e164, rfc3339(at), workspace_id, user_id),
        )

    def account(self, workspace_id: str, user_id: int) -> WhatsAppAccount | None:
        row = self._conn.execute(
            "SELECT wa_account_id, wa_phone, wa_connected_at, wa_disconnected_at FROM users"
            " WHERE workspace_id = ? AND user_id = ? AND wa_account_id IS NOT NULL",
            (workspace_id, user_id),
        ).fetchone()
        return WhatsAppAccount(row[0], row[1], _time(row[2]), _time(row[3])) if row else None

    def links(self, workspace_id: str, user_id: int, limit: int) -> list[LinkRecord]:
        rows = self._conn.execute(
            f"SELECT {_LINK_COLUMNS} WHERE l.workspace_id = ? AND l.user_id = ? ORDER BY l.id DESC LIMIT ?",
            (workspace_id, user_id, limit),
        ).fetchall()
        return [_link(row) for row in rows]

    def link_by_digest(self, digest: str) -> LinkRecord | None:
        row = self._conn.execute(f"SELECT {_LINK_COLUMNS} WHERE l.token_sha256 = ?", (digest,)).fetchone()
        return _link(row) if row else None

    # --- the pairing flow of a link's page, forced failures, embedding origins ----------------------

    def link_flow(self, link_id: int) -> Flow:
        row = self._conn.execute(
            "SELECT qr_started_at, qr_secret, pairing_code, pairing_phone, pairing_expires_at, error_seq, error"
            " FROM link_flows WHERE link_id = ?", (link_id,)).fetchone()
        if row is None:
            return Flow()
        return Flow(_time(row[0]), row[1], row[2], row[3], _time(row[4]), row[5], row[6])

    def save_link_flow(self, link_id: int, flow: Flow) -> None:
        self._conn.execute(
            "INSERT INTO link_flows (link_id, qr_started_at, qr_secret, pairing_code, pairing_phone,"
            " pairing_expires_at, error_seq, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (link_id) DO UPDATE SET"
            " qr_started_at = excluded.qr_started_at, qr_secret = excluded.qr_secret,"
            " pairing_code = excluded.pairing_code, pairing_phone = excluded.pairing_phone,"
            " pairing_expires_at = excluded.pairing_expires_at, error_seq = excluded.error_seq, error = excluded.error",
            (link_id, _stamp(flow.qr_started_at), flow.qr_secret, flow.pairing_code, flow.pairing_phone,
             _stamp(flow.pairing_expires_at), flow.error_seq, flow.error),
        )

    def next_failure(self, workspace_id: str, user_id: int) -> str | None:
        row = self._conn.execute("SELECT next_failure FROM users WHERE workspace_id = ? AND user_id = ?",
                                 (workspace_id, user_id)).fetchone()
        return row[0] if row else None

    def set_next_failure(self, workspace_id: str, user_id: int, cause: str | None) -> None:
        self._conn.execute("UPDATE users SET next_failure = ? WHERE workspace_id = ? AND user_id = ?",
                           (cause, workspace_id, user_id))

    def embedding_origins(self, partner_id: str) -> list[str]:
        row = self._conn.execute("SELECT embedding_origins FROM partners WHERE id = ?", (partner_id,)).fetchone()
        return json.loads(row[0]) if row else []

    def set_embedding_origins(self, partner_id: str, origins: list[str]) -> None:
        self._conn.execute("UPDATE partners SET embedding_origins = ? WHERE id = ?", (json.dumps(origins), partner_id))

    # --- workspaces and their members -------------------------------------------------------------

    def next_ids(self, name: str, count: int) -> int:
        """Reserve `count` consecutive ids of a counter (a row lock queues concurrent callers)."""
        row = self._conn.execute("UPDATE counters SET value = value + ? WHERE name = ? RETURNING value",
                                 (count, name)).fetchone()
        return row[0] - count

    def partner_plan(self, partner_id: str) -> Plan:
        row = self._conn.execute("SELECT plan_id, plan_messages, plan_api_calls, plan_non_recurring FROM partners"
                                 " WHERE id = ?", (partner_id,)).fetchone()
        return Plan(*row)

    def lock_workspace(self, workspace_id: str) -> None:
        """Queue changes to a workspace's seats (PostgreSQL; a SQLite transaction holds the database)."""
        self._conn.execute("SELECT id FROM workspaces WHERE id = ?" + self._conn.for_update, (workspace_id,)).fetchone()

    def add_workspace(self, workspace_id: str, partner_id: str, display_name: str, seats: int, plan: Plan,
                      group_id: int, at: datetime) -> bool:
        """Insert the workspace unless its id is taken (also by a transaction racing this one): inserted?"""
        stamp = rfc3339(at)
        return self._conn.execute(
            "INSERT INTO workspaces (id, partner_id, display_name, seats_purchased, plan_id, group_id, created_at,"
            " updated_at, non_recurring_balance, non_recurring_updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING RETURNING id",
            (workspace_id, partner_id, display_name, seats, plan.id, group_id, stamp, stamp, plan.non_recurring, stamp),
        ).fetchone() is not None

    def update_workspace(self, workspace_id: str, display_name: str | None, seats: int | None, at: datetime) -> None:
        self._conn.execute(
            "UPDATE workspaces SET display_name = COALESCE(?, display_name), seats_purchased = COALESCE(?, seats_purchased),"
            " updated_at = ? WHERE id = ?",
            (display_name, seats, rfc3339(at), workspace_id),
        )

    def add_members(self, workspace_id: str, members: list[Member]) -> None:
        self._conn.executemany(
            "INSERT INTO users (workspace_id, user_id, status, role, display_name, email, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(workspace_id, m.user_id, m.status, m.role, m.display_name, m.email, rfc3339(m.created_at)) for m in members],
        )

    def members(self, workspace_id: str) -> list[Member]:
        rows = self._conn.execute(
            "SELECT user_id, display_name, role, email, status, created_at FROM users WHERE workspace_id = ?"
            " ORDER BY user_id", (workspace_id,)).fetchall()
        return [Member(r[0], r[1], r[2], r[3], r[4], _time(r[5])) for r in rows]

    def set_user_status(self, workspace_id: str, user_id: int, status: str) -> None:
        self._conn.execute("UPDATE users SET status = ? WHERE workspace_id = ? AND user_id = ?",
                           (status, workspace_id, user_id))

    def workspace_record(self, workspace_id: str) -> Workspace:
        row = self._conn.execute(
            "SELECT w.id, w.partner_id, w.display_name, w.plan_id, w.seats_purchased,"
            " (SELECT COUNT(*) FROM users u WHERE u.workspace_id = w.id AND u.status = 'active'),"
            " w.group_id, w.created_at, w.updated_at,"
            " (SELECT MIN(u.user_id) FROM users u WHERE u.workspace_id = w.id AND u.role = 'owner')"
            " FROM workspaces w WHERE w.id = ?", (workspace_id,)).fetchone()
        return Workspace(row[0], row[1], row[2], row[3], row[4], row[5], row[6], _time(row[7]), _time(row[8]), row[9])

    def accounts(self, workspace_id: str) -> list[tuple[int, WhatsAppAccount]]:
        """Every account a user of the workspace has had (connected or not), by user."""
        rows = self._conn.execute(
            "SELECT user_id, wa_account_id, wa_phone, wa_connected_at, wa_disconnected_at FROM users"
            " WHERE workspace_id = ? AND wa_account_id IS NOT NULL ORDER BY user_id", (workspace_id,)).fetchall()
        return [(r[0], WhatsAppAccount(r[1], r[2], _time(r[3]), _time(r[4]))) for r in rows]

    def open_links(self, workspace_id: str) -> list[tuple[int, str, datetime]]:
        """(user id, raw token, expires at) of the links the store records as active."""
        rows = self._conn.execute(
            "SELECT user_id, token, expires_at FROM links WHERE workspace_id = ? AND status = 'active'"
            " AND token IS NOT NULL ORDER BY user_id", (workspace_id,)).fetchall()
        return [(r[0], r[1], _time(r[2])) for r in rows]

    def usage(self, workspace_id: str) -> tuple[datetime | None, int, int, int, datetime | None]:
        """(period start of the counters, messages used, API calls used, non-recurring balance, its update)."""
        row = self._conn.execute(
            "SELECT usage_period, messages_used, api_calls_used, non_recurring_balance, non_recurring_updated_at"
            " FROM workspaces WHERE id = ?", (workspace_id,)).fetchone()
        return _time(row[0]), row[1], row[2], row[3], _time(row[4])

    def fired_alerts(self, workspace_id: str, period: datetime) -> set[str]:
        """The once-a-period events already sent for the workspace in the period starting at `period`."""
        row = self._conn.execute("SELECT alerts_period, alerts FROM workspaces WHERE id = ?", (workspace_id,)).fetchone()
        if row[0] is None or _time(row[0]) != period:
            return set()
        return {a for a in row[1].split(",") if a}

    def set_fired_alerts(self, workspace_id: str, period: datetime, alerts: set[str]) -> None:
        self._conn.execute("UPDATE workspaces SET alerts_period = ?, alerts = ? WHERE id = ?",
                           (_stamp(period), ",".join(sorted(alerts)), workspace_id))

    def set_usage(self, workspace_id: str, period: datetime, messages: int, api_calls: int, balance: int,
                  balance_updated: datetime | None) -> None:
        self._conn.execute(
            "UPDATE workspaces SET usage_period = ?, messages_used = ?, api_calls_used = ?, non_recurring_balance = ?,"
            " non_recurring_updated_at = ? WHERE id = ?",
            (_stamp(period), messages, api_calls, balance, _stamp(balance_updated), workspace_id),
        )

    # --- Rate limit buckets -----------------------------------------------------------------------

    def rate_bucket(self, key: str, full: float, now: float) -> tuple[float, float]:
        """(tokens, at) of `key`'s bucket, locked until the transaction ends; a new bucket is full."""
        self._conn.execute("INSERT INTO rate_buckets (key, tokens, at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING",
                           (key, full, now))
        row = self._conn.execute("SELECT tokens, at FROM rate_buckets WHERE key = ?" + self._conn.for_update,
                                 (key,)).fetchone()
        return row[0], row[1]

    def set_rate_bucket(self, key: str, tokens: float, at: float) -> None:
        self._conn.execute("UPDATE rate_buckets SET tokens = ?, at = ? WHERE key = ?", (tokens, at, key))

    # --- Public API tokens ------------------------------------------------------------------------

    def api_token(self, workspace_id: str) -> str | None:
        row = self._conn.execute("SELECT token FROM api_tokens WHERE workspace_id = ?", (workspace_id,)).fetchone()
        return row[0] if row else None

    def create_api_token(self, workspace_id: str, token: str, at: datetime) -> str:
        """Store the workspace's first token unless one is there already; the token that is there."""
        self._conn.execute(
            "INSERT INTO api_tokens (workspace_id, token, token_sha256, created_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (workspace_id) DO NOTHING",
            (workspace_id, token, token_digest(token), _stamp(at)),
        )
        return self.api_token(workspace_id)

    def replace_api_token(self, workspace_id: str, token: str, at: datetime) -> None:
        self._conn.execute(
            "INSERT INTO api_tokens (workspace_id, token, token_sha256, created_at, rotated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (workspace_id) DO UPDATE SET token = excluded.token, token_sha256 = excluded.token_sha256,"
            " created_at = excluded.created_at, rotated_at = excluded.rotated_at",
            (workspace_id, token, token_digest(token), _stamp(at), _stamp(at)),
        )

    def api_token_workspace(self, digest: str) -> str | None:
        row = self._conn.execute("SELECT workspace_id FROM api_tokens WHERE token_sha256 = ?", (digest,)).fetchone()
        return row[0] if row else None

    def clock_state(self, partner_id: str) -> ClockState:
        row = self._conn.execute("SELECT offset_us, frozen_at FROM clocks WHERE partner_id = ?", (partner_id,)).fetchone()
        if row is None:
            return REAL_CLOCK
        return ClockState(timedelta(microseconds=row[0]), _time(row[1]))

    def set_clock_state(self, partner_id: str, state: ClockState) -> None:
        if state == REAL_CLOCK:
            self._conn.execute("DELETE FROM clocks WHERE partner_id = ?", (partner_id,))
            return
        self._conn.execute(
            "INSERT INTO clocks (partner_id, offset_us, frozen_at) VALUES (?, ?, ?) ON CONFLICT (partner_id)"
            " DO UPDATE SET offset_us = excluded.offset_us, frozen_at = excluded.frozen_at",
            (partner_id, state.offset // timedelta(microseconds=1), _stamp(state.frozen_at)),
        )

    def reset_partner(self, partner: PartnerFixture, now: datetime) -> None:
        """The partner's workspaces back to the fixtures, its clock back to real time."""
        owned = "SELECT id FROM workspaces WHERE partner_id = ?"
        self._conn.execute(f"DELETE FROM link_flows WHERE link_id IN (SELECT id FROM links WHERE workspace_id IN"
                           f" ({owned}))", (partner.id,))
        self._conn.execute(f"DELETE FROM links WHERE workspace_id IN ({owned})", (partner.id,))
        self._conn.execute(f"DELETE FROM api_tokens WHERE workspace_id IN ({owned})", (partner.id,))
        self._conn.execute(f"DELETE FROM users WHERE workspace_id IN ({owned})", (partner.id,))
        self._conn.execute("DELETE FROM workspaces WHERE partner_id = ?", (partner.id,))
        self._conn.execute("DELETE FROM clocks WHERE partner_id = ?", (partner.id,))
        _seed_workspaces(self, partner, now)

    def seed_if_empty(self, world: World, now: datetime, reset: bool) -> bool:
        if self._conn.execute("SELECT 1 FROM meta WHERE key = 'seeded_at'").fetchone() and not reset:
            return False
        for table in TABLES:
            self._conn.execute(f"DELETE FROM {table}")
        # Ids handed out later start past every fixture user (and at 100000 at least, to tell them apart).
        fixture_users = [u.id for p in world.partners for w in p.workspaces for u in w.users]
        self._conn.execute("INSERT INTO counters (name, value) VALUES ('user_id', ?), ('group_id', 1)",
                           (max([99_999, *fixture_users]) + 1,))
        for partner in world.partners:
            plan = partner.plan
            self._conn.execute(
                "INSERT INTO partners (id, secret, active, plan_id, plan_messages, plan_api_calls, plan_non_recurring,"
                " embedding_origins) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (partner.id, partner.secret, partner.active, plan.id, plan.messages, plan.api_calls, plan.non_recurring,
                 json.dumps(list(partner.embedding_origins))))
            if partner.webhook_url:
                self.set_webhook(partner.id, partner.webhook_url)
            _seed_workspaces(self, partner, now)
        self._conn.execute("INSERT INTO meta (key, value) VALUES ('seeded_at', ?)", (rfc3339(now),))
        self._conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        return True

    def partners(self) -> list[Partner]:
        rows = self._conn.execute("SELECT id, secret, active FROM partners").fetchall()
        return [Partner(row[0], row[1], bool(row[2])) for row in rows]

    def add_journal_entry(self, partner_id: str, entry: dict) -> None:
        self._conn.execute("INSERT INTO journal (partner_id, entry) VALUES (?, ?)", (partner_id, json.dumps(entry)))
        # The partner's own count of entries: every JOURNAL_TRIM_EVERY-th of them trims, so at most
        # JOURNAL_LIMIT + JOURNAL_TRIM_EVERY rows a partner, whoever else writes in between.
        written = self._conn.execute(
            "INSERT INTO journal_counts (partner_id, written) VALUES (?, 1) ON CONFLICT (partner_id)"
            " DO UPDATE SET written = journal_counts.written + 1 RETURNING written", (partner_id,),
        ).fetchone()[0]
        if written % JOURNAL_TRIM_EVERY:
            return
        self._conn.execute(
            "DELETE FROM journal WHERE partner_id = ? AND id <= "
            "(SELECT id FROM journal WHERE partner_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (partner_id, partner_id, JOURNAL_LIMIT),
        )

    # --- webhooks: the partner's URL, the outbox, attempts --------------------------------------

    def webhook_url(self, partner_id: str) -> str | None:
        row = self._conn.execute("SELECT url FROM webhooks WHERE partner_id = ?", (partner_id,)).fetchone()
        return row[0] if row else None

    def set_webhook(self, partner_id: str, url: str | None) -> None:
        if url is None:
            self._conn.execute("DELETE FROM webhooks WHERE partner_id = ?", (partner_id,))
            return
        self._conn.execute(
            "INSERT INTO webhooks (partner_id, url) VALUES (?, ?) ON CONFLICT (partner_id) DO UPDATE SET url = excluded.url",
            (partner_id, url),
        )

    def add_event(self, partner_id: str, workspace_id: str, user_id: int | None, body: dict) -> None:
        """Into the outbox, when the partner has a webhook URL to deliver it to."""
        self._conn.execute(
            "INSERT INTO webhook_events (event_id, partner_id, workspace_id, user_id, body, status, next_attempt_at,"
            " created_at) SELECT ?, ?, ?, ?, ?, 'pending', 0, ? WHERE EXISTS (SELECT 1 FROM webhooks WHERE partner_id = ?)",
            (str(uuid.uuid4()), partner_id, workspace_id, user_id, json.dumps(body), body["triggered_at"], partner_id),
        )

    def claim_events(self, now: float, lease: float, limit: int, *, room: Callable[[str], int] | None = None
                     ) -> list[dict]:
        """Due events, each the oldest pending one of its workspace (order per workspace), leased for
        `lease` s; at most `room(partner)` of each partner's (the caller's share for that partner)."""
        rows = self._conn.execute(
            "SELECT e.id, e.event_id, e.partner_id, e.body, e.round_attempts FROM webhook_events e"
            " WHERE e.status = 'pending' AND e.next_attempt_at <= ? AND NOT EXISTS (SELECT 1 FROM webhook_events p"
            " WHERE p.workspace_id = e.workspace_id AND p.status = 'pending' AND p.id < e.id)"
            " ORDER BY e.id LIMIT ?",
            (now, limit * 4),
        ).fetchall()
        claimed: list[dict] = []
        taken_of: dict[str, int] = {}
        for row in rows:
            if len(claimed) >= limit:
                break
            if room is not None and taken_of.get(row[2], 0) >= room(row[2]):
                continue  # this partner has its share in flight: other partners' events go first
            taken_of[row[2]] = taken_of.get(row[2], 0) + 1
            # compare-and-set, so that two processes never take the same event
            taken = self._conn.execute(
                "UPDATE webhook_events SET next_attempt_at = ? WHERE id = ? AND status = 'pending' AND next_attempt_at <= ?"
                " RETURNING id",
                (now + lease, row[0], now),
            ).fetchone()
            if taken:
                claimed.append({"row": row[0], "event_id": row[1], "partner_id": row[2], "body": row[3],
                                "round_attempts": row[4]})
        return claimed

    def record_attempt(self, row: int, at: str, status_code: int | None, error: str | None, latency_ms: float,
                       outcome: str, next_attempt_at: float = 0) -> None:
        """One attempt and its outcome: 'delivered', 'failed' or 'pending' (retry at next_attempt_at)."""
        self._conn.execute(
            "INSERT INTO webhook_attempts (event_row, at, status_code, error, latency_ms) VALUES (?, ?, ?, ?, ?)",
            (row, at, status_code, error, latency_ms),
        )
        self._conn.execute(
            "UPDATE webhook_events SET status = ?, round_attempts = round_attempts + 1, next_attempt_at = ? WHERE id = ?",
            (outcome, next_attempt_at, row),
        )

    def deliveries(self, partner_id: str, limit: int) -> list[dict]:
        events = self._conn.execute(
            "SELECT id, event_id, body, status, next_attempt_at, created_at FROM webhook_events WHERE partner_id = ?"
            " ORDER BY id DESC LIMIT ?",
            (partner_id, limit),
        ).fetchall()
        out = []
        for row in events:
            attempts = self._conn.execute(
                "SELECT at, status_code, error, latency_ms FROM webhook_attempts WHERE event_row = ? ORDER BY id",
                (row[0],),
            ).fetchall()
            out.append({"id": row[0], "event_id": row[1], "body": json.loads(row[2]), "status": row[3],
                        "next_attempt_at": row[4], "created_at": row[5],
                        "attempts": [{"at": a[0], "status_code": a[1], "error": a[2], "latency_ms": a[3]} for a in attempts]})
        return out

    def redeliver(self, partner_id: str, row: int) -> bool:
        """Deliver the partner's event again, with a fresh round of attempts; False if it is not theirs."""
        return self._conn.execute(
            "UPDATE webhook_events SET status = 'pending', round_attempts = 0, next_attempt_at = 0"
            " WHERE id = ? AND partner_id = ? RETURNING id",
            (row, partner_id),
        ).fetchone() is not None

    def journal(self, partner_id: str, limit: int) -> list[dict]:
        rows = self._conn.execute(
            "SELECT entry FROM journal WHERE partner_id = ? ORDER BY id DESC LIMIT ?", (partner_id, limit)
        ).fetchall()
        return [json.loads(row[0]) for row in rows]


def _seed_workspaces(tx: SqlTransaction, partner: PartnerFixture, now: datetime) -> None:
    stamp = rfc3339(now)
    sql = tx._conn
    first_group = tx.next_ids("group_id", len(partner.workspaces)) if partner.workspaces else 0
    sql.executemany(
        "INSERT INTO workspaces (id, partner_id, billing_managed, display_name, seats_purchased, plan_id, group_id,"
        " created_at, updated_at, usage_period, non_recurring_balance, non_recurring_updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(ws.id, partner.id, ws.billing_managed, ws.display_name or ws.id, ws.seats, partner.plan.id, first_group + i,
          stamp, stamp, None, partner.plan.non_recurring, stamp) for i, ws in enumerate(partner.workspaces)],
    )
    sql.executemany(
        "INSERT INTO users (workspace_id, user_id, status, role, display_name, email, created_at, wa_account_id,"
        " wa_phone, wa_connected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (ws.id, user.id, user.status, user.role, display_name_for(user.role, user.id), system_email(user.id, ws.id), stamp,
             *((user.whatsapp.account_id, user.whatsapp.phone_number_e164, stamp) if user.whatsapp else (None, None, None)))
            for ws in partner.workspaces
            for user in ws.users
        ],
    )
    for ws in partner.workspaces:
        for user in ws.users:
            if user.active_link:
                link = user.active_link
                tx.add_link(ws.id, user.id, link.token or new_link_token(), now,
                            now + timedelta(hours=link.expires_in_hours))


class _OneConnection:
    """What both stores share: one connection per process, used under `_lock`."""

    _conn: object
    _lock: threading.Lock

    def partners(self) -> list[Partner]:
        with self.transaction() as tx:
            return tx.partners()

    def ping(self) -> None:
        self._check_file()
        with self._lock:
            self._conn.execute("SELECT 1").fetchone()

    def _check_file(self) -> None:
        """Raise the 503 when the store's file is no longer the one at its path (a database file has
        one; a server has nothing to check)."""


class SqliteStore(_OneConnection):
    """SQLite store: WAL on files, one BEGIN IMMEDIATE transaction per call.

    `path` is a file path or ":memory:" (a process-private in-memory database). Each process keeps
    one connection; its threads take turns on it. SQLite's own write lock (BEGIN IMMEDIATE) is what
    makes a transaction atomic across processes. Writers also queue on a thread lock and, for a
    file, an flock on `<db>.lock`, so that they wait in line and are woken at once, instead of in
    SQLite's busy handler, which sleeps in steps of milliseconds under contention.
    """

    def __init__(self, path: str | Path, *, durability: str = "normal"):
        if str(path) == ":memory:":
            target, is_file = ":memory:", False
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            target, is_file = str(Path(path).resolve()), True
        self._conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 10000")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._sync = "OFF"  # an in-memory database has nothing to sync
        if is_file:
            self._conn.execute("PRAGMA journal_mode = WAL")
            # NORMAL (in WAL mode): a commit survives the process being killed, fsync at checkpoints;
            # FULL: it also survives a power loss, at the price of an fsync per commit.
            self._sync = SYNC_MODES[durability]
            self._conn.execute(f"PRAGMA synchronous = {self._sync}")
        self._lock = threading.Lock()
        self._queue = open(f"{target}.lock", "a+b") if is_file else None  # noqa: SIM115 (kept open)
        with self._immediate() as conn:
            _migrate(_Sql(conn), _statements(SQLITE_SCHEMA),
                     "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'")
        # The file this connection writes: deleted or replaced under a running server, its writes
        # would go to an unlinked file and be gone at the next start.
        self._file = target if is_file else None
        self._identity = _identity(target) if is_file else None

    def _check_file(self) -> None:
        if self._file is not None and _identity(self._file) != self._identity:
            raise ApiError("service_unavailable", "The database file was deleted or replaced while the sandbox"
                           " ran; restart it to start from a new one", headers={"Retry-After": "1"})

    @contextmanager
    def _immediate(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._queue is not None:
                fcntl.flock(self._queue, fcntl.LOCK_EX)
            conn = self._conn
            relaxed = not durable and self._sync == "FULL"  # NORMAL does not fsync commits anyway
            try:
                if relaxed:
                    conn.execute("PRAGMA synchronous = OFF")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            finally:
                if relaxed:
                    conn.execute(f"PRAGMA synchronous = {self._sync}")
                if self._queue is not None:
                    fcntl.flock(self._queue, fcntl.LOCK_UN)

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[SqlTransaction]:
        """One atomic transaction. `durable=False` skips the fsync at commit, for records (the
        request journal) whose last moments may be lost to a power cut; the next durable commit
        syncs them too. A database that cannot be written (read-only, full, locked too long) is a
        503: the transaction rolled back, nothing was answered as stored."""
        self._check_file()
        try:
            with self._immediate(durable) as conn:
                yield SqlTransaction(_Sql(conn))
        except sqlite3.OperationalError as exc:
            raise unavailable(exc) from None

    def seed_if_empty(self, world: World, now: datetime, *, reset: bool = False) -> bool:
        """Seed from the fixtures when the store is empty (or when `reset`); True if it seeded."""
        with self.transaction() as tx:
            seeded = tx.seed_if_empty(world, now, reset)
        if seeded:
            with self._lock:
                # Fold the seeded world into the database file now, not during the first requests.
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return seeded

    def close(self) -> None:
        with self._lock:
            self._conn.close()
            if self._queue is not None:
                self._queue.close()


class PostgresStore(_OneConnection):
    """PostgreSQL store, for several sandbox replicas behind a load balancer.

    The same statements as SQLite. A transaction runs at READ COMMITTED and starts its rules by
    locking the user's row (SELECT ... FOR UPDATE), which queues changes to one user across
    replicas; the partial unique index on active links backs the rule up. The schema is created
    (migrated) at start-up under an advisory lock, so replicas may start together.
    """

    MIGRATION_LOCK = 7_340_001  # pg_advisory_xact_lock key for schema changes and seeding

    def __init__(self, url: str):
        import psycopg

        self._url = url
        self._conn = psycopg.connect(url, autocommit=True)
        self._lock = threading.Lock()
        with self._begin() as sql:
            sql.execute("SELECT pg_advisory_xact_lock(?)", (self.MIGRATION_LOCK,))
            _migrate(sql, _statements(POSTGRES_SCHEMA),
                     "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'meta'")

    @contextmanager
    def _begin(self) -> Iterator[_Sql]:
        with self._lock:
            if self._conn.closed or self._conn.broken:
                import psycopg

                self._conn = psycopg.connect(self._url, autocommit=True)
            self._conn.execute("BEGIN")
            try:
                yield _Sql(self._conn, placeholder="%s", for_update=" FOR UPDATE")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[SqlTransaction]:
        """One atomic transaction (PostgreSQL commits are always durable); a lost database is a 503,
        and the next transaction connects again."""
        import psycopg

        try:
            with self._begin() as sql:
                yield SqlTransaction(sql)
        except psycopg.OperationalError as exc:
            raise unavailable(exc) from None

    def seed_if_empty(self, world: World, now: datetime, *, reset: bool = False) -> bool:
        with self._begin() as sql:
            sql.execute("SELECT pg_advisory_xact_lock(?)", (self.MIGRATION_LOCK,))
            return SqlTransaction(sql).seed_if_empty(world, now, reset)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of the file at `path`, None when there is none."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def unavailable(exc: Exception) -> ApiError:
    log.error("store unavailable: %s", exc)
    return ApiError("service_unavailable", "The sandbox cannot write its database now; retry shortly",
                   headers={"Retry-After": "1"})


def _migrate(sql: _Sql, schema: list[str], meta_exists: str) -> None:
    """Create the schema; a database of another schema version is dropped first (and re-seeded)."""
    if sql.execute(meta_exists).fetchone():
        row = sql.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or row[0] != SCHEMA_VERSION:
            log.warning("the database holds a sandbox world of schema version %s, this sandbox uses %s:"
                        " dropped, to be seeded again from the fixtures", row[0] if row else 1, SCHEMA_VERSION)
            for table in TABLES:
                sql.execute(f"DROP TABLE IF EXISTS {table}")
    for statement in schema:
        sql.execute(statement)
    sql.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING",
                (SCHEMA_VERSION,))


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def open_store(db: str, *, durability: str = "normal") -> Store:
    """`postgresql://...` (or `postgres://...`) opens PostgreSQL; anything else is a SQLite file or :memory:."""
    if db.startswith(("postgresql://", "postgres://")):
        return PostgresStore(db)
    return SqliteStore(db, durability=durability)

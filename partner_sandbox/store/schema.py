"""The schema of both backends, as one SQLAlchemy Core MetaData. Every instant is stored one way:
microseconds since the Unix epoch, UTC, in a BIGINT (store/encoding.py); the wire formats are
written at the edge (domain/clock.py)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

# Raised when the schema changes. A database of another version holds a sandbox world of another
# shape: it is dropped and seeded again from the fixtures (sandbox state is disposable), and said so.
SCHEMA_VERSION = "7"

metadata = MetaData()
# A row id: SQLite's rowid alias (INTEGER PRIMARY KEY), PostgreSQL's identity column. (Inserts into
# these tables are `.inline()`: nothing fetches the new id back.)
ROW_ID = BigInteger().with_variant(Integer, "sqlite")


def _id() -> Column[int]:
    return Column("id", ROW_ID, Identity(always=True), primary_key=True)


def _instant(name: str, *, nullable: bool = True) -> Column[int]:
    return Column(name, BigInteger, nullable=nullable)


meta = Table("meta", metadata, Column("key", Text, primary_key=True), Column("value", Text, nullable=False))

partners = Table(
    "partners", metadata,
    Column("id", Text, primary_key=True),
    Column("secret", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("plan_id", Integer, nullable=False),
    Column("plan_messages", BigInteger, nullable=False),
    Column("plan_api_calls", BigInteger, nullable=False),
    Column("plan_non_recurring", BigInteger, nullable=False),
    # JSON: the origins that may frame its QR links
    Column("embedding_origins", Text, nullable=False, server_default=text("'[]'")),
)

workspaces = Table(
    "workspaces", metadata,
    Column("id", Text, primary_key=True),
    Column("partner_id", Text, ForeignKey("partners.id"), nullable=False),
    Column("billing_managed", Boolean, nullable=False, server_default=false()),
    Column("display_name", Text, nullable=False),
    Column("seats_purchased", Integer, nullable=False),
    Column("plan_id", Integer, nullable=False),
    Column("group_id", BigInteger, nullable=False),
    _instant("created_at", nullable=False),
    _instant("updated_at", nullable=False),
    # use of the current billing period (usage_period is its start), and the non-recurring balance
    _instant("usage_period"),
    Column("messages_used", BigInteger, nullable=False, server_default=text("0")),
    Column("api_calls_used", BigInteger, nullable=False, server_default=text("0")),
    Column("non_recurring_balance", BigInteger, nullable=False, server_default=text("0")),
    _instant("non_recurring_updated_at"),
    # the once-a-period webhook events sent in alerts_period (its start), comma-separated
    _instant("alerts_period"),
    Column("alerts", Text, nullable=False, server_default=text("''")),
    Index("workspaces_by_partner", "partner_id", "created_at"),  # a partner's world, newest first
)

users = Table(
    "users", metadata,
    Column("workspace_id", Text, ForeignKey("workspaces.id"), primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("status", Text, CheckConstraint("status IN ('active', 'suspended')"), nullable=False,
           server_default=text("'active'")),
    Column("role", Text, CheckConstraint("role IN ('owner', 'agent')"), nullable=False, server_default=text("'agent'")),
    Column("display_name", Text, nullable=False),
    Column("email", Text, nullable=False),
    _instant("created_at", nullable=False),
    Column("wa_account_id", BigInteger),
    Column("wa_phone", Text),
    _instant("wa_connected_at"),
    _instant("wa_disconnected_at"),
    _instant("wa_last_connected_at"),  # the last connection, kept after a disconnection (the Public API's connected_on)
    Column("next_failure", Text),  # a failure forced on the user's next pairing step (pairing.FAILURES)
    # User ids are unique across the service, as in the real one.
    Index("users_by_id", "user_id", unique=True),
)

links = Table(
    "links", metadata,
    _id(),
    Column("workspace_id", Text, nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("token_sha256", Text, nullable=False, unique=True),
    # the raw token while the link is active (workspace details list its URL), then NULL
    Column("token", Text),
    Column("status", Text, CheckConstraint("status IN ('active', 'revoked', 'expired', 'used')"), nullable=False),
    _instant("issued_at", nullable=False),
    _instant("expires_at", nullable=False),
    _instant("closed_at"),
    ForeignKeyConstraint(["workspace_id", "user_id"], ["users.workspace_id", "users.user_id"]),
)
# A workspace's seats in use and its owner (workspaces._workspace_record, on every change of users):
# counted on a narrow index of its active users, found on an index of owners alone.
Index("users_active", users.c.workspace_id, sqlite_where=users.c.status == "active",
      postgresql_where=users.c.status == "active")
Index("users_owners", users.c.workspace_id, users.c.user_id, sqlite_where=users.c.role == "owner",
      postgresql_where=users.c.role == "owner")

# The rule "one active link per user", backed by the database itself.
Index("one_active_link_per_user", links.c.workspace_id, links.c.user_id, unique=True,
      sqlite_where=links.c.status == "active", postgresql_where=links.c.status == "active")

# The pairing flow of a link's page (domain/pairing.py): QR rotation, a pairing code, the last error.
link_flows = Table(
    "link_flows", metadata,
    Column("link_id", BigInteger, ForeignKey("links.id"), primary_key=True),
    _instant("qr_started_at"),
    Column("qr_secret", Text),
    Column("pairing_code", Text),
    Column("pairing_phone", Text),
    _instant("pairing_expires_at"),
    Column("error_seq", Integer, nullable=False),
    Column("error", Text),
)

# Identifiers handed out across the world (user ids, group ids): next value of each.
counters = Table("counters", metadata, Column("name", Text, primary_key=True),
                 Column("value", BigInteger, nullable=False))

clocks = Table(
    "clocks", metadata,
    Column("partner_id", Text, ForeignKey("partners.id"), primary_key=True),
    Column("offset_us", BigInteger, nullable=False),  # a duration, in microseconds
    _instant("frozen_at"),
)

journal = Table(
    "journal", metadata,
    _id(),
    Column("partner_id", Text, nullable=False),
    Column("entry", Text, nullable=False),
    Index("journal_by_partner", "partner_id", "id"),
)
journal_counts = Table("journal_counts", metadata, Column("partner_id", Text, primary_key=True),
                       Column("written", BigInteger, nullable=False))

webhooks = Table("webhooks", metadata, Column("partner_id", Text, primary_key=True),
                 Column("url", Text, nullable=False))

# The outbox: an event is written in the transaction of the change that causes it.
webhook_events = Table(
    "webhook_events", metadata,
    _id(),
    Column("event_id", Text, nullable=False, unique=True),
    Column("partner_id", Text, nullable=False),
    Column("workspace_id", Text, nullable=False),
    Column("user_id", BigInteger),  # NULL for the workspace's own events (seats, quotas, tokens)
    Column("body", Text, nullable=False),
    Column("status", Text, CheckConstraint("status IN ('pending', 'delivered', 'failed')"), nullable=False),
    Column("round_attempts", Integer, nullable=False, server_default=text("0")),
    _instant("next_attempt_at", nullable=False),
    _instant("created_at", nullable=False),
    Index("webhook_events_due", "status", "next_attempt_at"),
    Index("webhook_events_by_workspace", "workspace_id", "id"),
    Index("webhook_events_by_partner", "partner_id", "id"),
)

webhook_attempts = Table(
    "webhook_attempts", metadata,
    _id(),
    Column("event_row", BigInteger, nullable=False),
    _instant("at", nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("latency_ms", Double, nullable=False),
    # whether a signed request went out (its X-TL-Signature was minted at `at`, in whole seconds; the
    # control API shows its claims, and no signature is kept)
    Column("signed", Boolean, nullable=False, server_default=false()),
    Index("webhook_attempts_by_event", "event_row", "id"),
)

# A workspace's Public API token: the raw value (the Partner API gives it back until it is rotated)
# and its digest, to tell which workspace a token opens.
api_tokens = Table(
    "api_tokens", metadata,
    Column("workspace_id", Text, ForeignKey("workspaces.id"), primary_key=True),
    Column("token", Text, nullable=False),
    Column("token_sha256", Text, nullable=False, unique=True),
    _instant("created_at", nullable=False),
    _instant("rotated_at"),
)

# Messages sent through the Public API (domain/messages.py): recorded, never sent anywhere.
messages = Table(
    "messages", metadata,
    Column("uid", Text, primary_key=True),
    Column("workspace_id", Text, ForeignKey("workspaces.id"), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("sender_phone", Text, nullable=False),
    Column("sender_name", Text, nullable=False),
    Column("recipient_phone", Text, nullable=False),
    Column("text", Text),
    Column("file_uid", Text),
    Column("attachment_template_id", BigInteger),
    Column("label", Text),
    Column("credits", Integer, nullable=False),
    _instant("created_at", nullable=False),
    Index("messages_by_workspace", "workspace_id", "created_at"),
)

# The production rate limit's token buckets (one per client IP), shared by workers and replicas.
rate_buckets = Table("rate_buckets", metadata, Column("key", Text, primary_key=True),
                     Column("tokens", Double, nullable=False), _instant("at", nullable=False))

# Every table, dependents first: the order to empty or drop them in.
TABLES = tuple(table.name for table in reversed(metadata.sorted_tables))


def create_statements(dialect: Dialect) -> list[str]:
    """The DDL of the whole schema for one dialect, each statement idempotent."""
    statements = []
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table, if_not_exists=True).compile(dialect=dialect)))
        statements += [str(CreateIndex(index, if_not_exists=True).compile(dialect=dialect))
                       for index in sorted(table.indexes, key=lambda i: str(i.name))]
    return statements

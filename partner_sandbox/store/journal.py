"""The server's own records: the request journal kept per partner, and the production rate limit's
token buckets."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from .encoding import seconds_to_us, us_to_seconds
from .schema import journal, journal_counts, rate_buckets
from .statements import InsertFn, Statement, Rows, statement

JOURNAL_LIMIT = 200  # entries kept per partner
JOURNAL_TRIM_EVERY = 20
_PARTNERS_ENTRIES = journal.c.partner_id == bindparam("partner_id")
_THE_BUCKET = rate_buckets.c.key == bindparam("key")


@statement
def _add_entry(insert: InsertFn) -> Statement:
    return insert(journal).inline().values(partner_id=bindparam("partner_id"), entry=bindparam("entry"))


@statement
def _count_entry(insert: InsertFn) -> Statement:
    stmt = insert(journal_counts).values(partner_id=bindparam("partner_id"), written=1)
    return stmt.on_conflict_do_update(index_elements=["partner_id"], set_={"written": journal_counts.c.written + 1}
                                      ).returning(journal_counts.c.written)


@statement
def _trim(_: InsertFn) -> Statement:
    last_kept = select(journal.c.id).where(_PARTNERS_ENTRIES).order_by(journal.c.id.desc()).limit(1).offset(
        bindparam("keep")).scalar_subquery()
    return delete(journal).where(_PARTNERS_ENTRIES, journal.c.id <= last_kept)


@statement
def _entries(_: InsertFn) -> Statement:
    return select(journal.c.id, journal.c.entry).where(_PARTNERS_ENTRIES).order_by(journal.c.id.desc()).limit(bindparam("limit"))


@statement
def _new_bucket(insert: InsertFn) -> Statement:
    return insert(rate_buckets).values(key=bindparam("key"), tokens=bindparam("tokens"), at=bindparam("at")
                                       ).on_conflict_do_nothing(index_elements=["key"])


@statement
def _bucket(_: InsertFn) -> Statement:
    return select(rate_buckets.c.tokens, rate_buckets.c.at).where(_THE_BUCKET).with_for_update()


@statement
def _set_bucket(_: InsertFn) -> Statement:
    return update(rate_buckets).where(_THE_BUCKET).values(tokens=bindparam("tokens"), at=bindparam("at"))


class JournalRows(Rows):
    def add_journal_entry(self, partner_id: str, entry: dict[str, Any]) -> None:
        self._run(_add_entry, partner_id=partner_id, entry=json.dumps(entry))
        # The partner's own count of entries: every JOURNAL_TRIM_EVERY-th of them trims, so at most
        # JOURNAL_LIMIT + JOURNAL_TRIM_EVERY rows a partner, whoever else writes in between.
        written = self._the(_count_entry, partner_id=partner_id)["written"]
        if written % JOURNAL_TRIM_EVERY == 0:
            self._run(_trim, partner_id=partner_id, keep=JOURNAL_LIMIT)

    def journal(self, partner_id: str, limit: int) -> list[dict[str, Any]]:
        """The partner's newest entries, newest first, each with its `id` (ascending with time)."""
        return [{"id": row["id"], **json.loads(row["entry"])}
                for row in self._all(_entries, partner_id=partner_id, limit=limit)]

    def rate_bucket(self, key: str, full: float, now: float) -> tuple[float, float]:
        """(tokens, at) of `key`'s bucket, locked until the transaction ends; a new bucket is full."""
        self._run(_new_bucket, key=key, tokens=full, at=seconds_to_us(now))
        row = self._the(_bucket, key=key)
        return row["tokens"], us_to_seconds(row["at"])

    def set_rate_bucket(self, key: str, tokens: float, at: float) -> None:
        self._run(_set_bucket, key=key, tokens=tokens, at=seconds_to_us(at))

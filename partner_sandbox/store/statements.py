"""Statements written once in SQLAlchemy Core, compiled once per dialect at start-up, and run on the
connection the store already holds (no engine, no per-call compilation: Core's execution path costs
tens of microseconds a statement, which the hot paths do not pay). Rows are read by column name."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, TypeAlias, cast
from collections.abc import Callable, Iterable, Mapping

import itertools
from functools import cache, partial

from sqlalchemy import Table, bindparam, literal, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.sqltypes import NullType
from sqlalchemy.sql.expression import ClauseElement

Row: TypeAlias = Any  # sqlite3.Row or psycopg's dict row: both read by column name
# Bound values meaning "no bound": a LIMIT no query reaches, and the largest id a BIGINT holds.
ALL = 2**62
LAST_ID = 2**63 - 1
Params: TypeAlias = Mapping[str, Any]


Statement: TypeAlias = ClauseElement  # a Core statement (select, insert, update, delete)
DialectInsert: TypeAlias = sqlite.Insert | postgresql.Insert


class InsertFn(Protocol):
    """The dialect's own INSERT construct (it alone has ON CONFLICT)."""

    def __call__(self, table: Table) -> DialectInsert: ...


Builder = Callable[[InsertFn], Statement]
_BUILDERS: list[Builder] = []


def statement(builder: Builder) -> Builder:
    """Register a statement: compiled for each store's dialect when the store opens."""
    _BUILDERS.append(builder)
    return builder


@cache
def statements_for(dialect: str) -> Statements:
    """Every statement compiled for the dialect, once a process (for every store of it)."""
    return Statements(dialect_named(dialect))


def dialect_named(name: str) -> Dialect:
    """The dialects the stores speak: SQLite with named (`:name`) and psycopg with `%(name)s`
    parameters, so that one dict of parameters serves both."""
    dialect: Dialect = sqlite.dialect(paramstyle="named") if name == "sqlite" else postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
    return dialect


class Compiled(NamedTuple):
    sql: str
    constants: dict[str, Any]  # values the dialect still binds (SQLite's OFFSET 0), given with each call


class Statements:
    """Every registered statement, compiled for one dialect."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        insert: InsertFn = sqlite.insert if dialect.name == "sqlite" else postgresql.insert
        self._insert = insert
        self.compiled = _CompiledStatements(self)
        for builder in _BUILDERS:
            self.compiled[builder] = self.compile(builder(insert))

    def compile(self, stmt: Statement) -> Compiled:
        """The statement's SQL with its constants written in as literals (`status = 'active'`, not a
        parameter: SQLite uses a partial index only for a WHERE it can read), and the parameters it
        still takes by name."""
        inlined = cast(ClauseElement, visitors.replacement_traverse(stmt, {}, partial(_constant_inline, self.dialect)))
        compiled = inlined.compile(dialect=self.dialect)
        return Compiled(str(compiled), {k: v for k, v in compiled.params.items() if v is not None})

    def __getitem__(self, builder: Builder) -> Compiled:
        return self.compiled[builder]


def _constant_inline(dialect: Dialect, element: Any) -> Any:
    """A bound constant of a statement as the dialect writes that literal: plain strings, integers and
    booleans only (a `%` would be escaped again for psycopg's pyformat); anything else stays bound,
    its value given with each call."""
    if (isinstance(element, BindParameter) and element.callable is None and not element.expanding
            and type(element.value) in (str, int, bool) and "%" not in str(element.value)):
        kind = literal(element.value).type if isinstance(element.type, NullType) else element.type
        write = kind.literal_processor(dialect)
        return literal_column(write(element.value) if write else str(element.value), kind)
    return None


class _CompiledStatements(dict[Builder, Compiled]):
    """The compiled statements; one registered after the store opened is compiled when first used."""

    def __init__(self, statements: Statements):
        super().__init__()
        self._statements = statements

    def __missing__(self, builder: Builder) -> Compiled:
        compiled = self[builder] = self._statements.compile(builder(self._statements._insert))
        return compiled


class Connection(Protocol):
    """What a DB-API connection (sqlite3's or psycopg's) offers the statements."""

    def execute(self, sql: str, params: Any = ...) -> Any: ...

    def cursor(self) -> Any: ...


class Rows:
    """A transaction's access to its connection through compiled statements; the resource modules
    of the store (workspaces, links, ...) add their methods on top of it."""

    def __init__(self, conn: Connection, statements: Statements, *, aside: Callable[[], Any] | None = None):
        self._conn = conn
        self._compiled = statements.compiled
        # Row locks are PostgreSQL's: a SQLite transaction (BEGIN IMMEDIATE) holds the whole database.
        self._row_locks = statements.dialect.name != "sqlite"
        # PostgreSQL: another connection, out of this transaction, for what must not wait on its end
        # (a context manager giving a connection in autocommit); None runs everything in this one.
        self._aside = aside

    def _run(self, builder: Builder, **params: Any) -> Any:
        sql, constants = self._compiled[builder]
        return self._conn.execute(sql, {**constants, **params} if constants else params)

    def _one(self, builder: Builder, **params: Any) -> Row | None:
        sql, constants = self._compiled[builder]  # _run's two lines again: this is the hot path
        return self._conn.execute(sql, {**constants, **params} if constants else params).fetchone()

    def _the(self, builder: Builder, **params: Any) -> Row:
        """The one row the statement must find (the caller checked that it exists)."""
        row = self._one(builder, **params)
        if row is None:
            raise LookupError(f"{builder.__name__}: no row for the given {', '.join(params)}")  # names, not values
        return row

    def _all(self, builder: Builder, **params: Any) -> list[Row]:
        return list(self._run(builder, **params).fetchall())

    def _many(self, builder: Builder, rows: Iterable[Params]) -> None:
        """The statement once per row; `rows` may be a generator, read as the rows are inserted."""
        sql, constants = self._compiled[builder]
        batch = iter([{**constants, **row} for row in rows] if constants else rows)
        first = next(batch, None)
        if first is not None:
            self._conn.cursor().executemany(sql, itertools.chain((first,), batch))


def upsert(insert: InsertFn, table: Table, keys: list[str], columns: list[str]) -> Statement:
    """INSERT of `keys` + `columns` from parameters of the same names; on a conflict of the keys,
    the columns are set to the new values."""
    stmt = insert(table).values({name: bindparam(name) for name in keys + columns})
    return stmt.on_conflict_do_update(index_elements=keys, set_={name: stmt.excluded[name] for name in columns})

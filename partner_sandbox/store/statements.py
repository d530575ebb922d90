"""Statements written once in SQLAlchemy Core, compiled once per dialect at start-up, and run on the
connection the store already holds (no engine, no per-call compilation: Core's execution path costs
tens of microseconds a statement, which the hot paths do not pay). Rows are read by column name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias
from collections.abc import Callable, Iterable, Mapping

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.expression import ClauseElement

Row: TypeAlias = Any  # sqlite3.Row or psycopg's dict row: both read by column name
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


def dialect_named(name: str) -> Dialect:
    """The dialects the stores speak: SQLite with named (`:name`) and psycopg with `%(name)s`
    parameters, so that one dict of parameters serves both."""
    dialect: Dialect = sqlite.dialect(paramstyle="named") if name == "sqlite" else postgresql.psycopg.dialect()  # type: ignore[no-untyped-call]
    return dialect


@dataclass(frozen=True)
class Compiled:
    sql: str
    constants: dict[str, Any]  # the values the statement itself carries (its literals)


class Statements:
    """Every registered statement, compiled for one dialect."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        insert: InsertFn = sqlite.insert if dialect.name == "sqlite" else postgresql.insert
        self._compiled = {builder: self.compile(builder(insert)) for builder in _BUILDERS}

    def compile(self, stmt: Statement) -> Compiled:
        compiled = stmt.compile(dialect=self.dialect)
        return Compiled(str(compiled), {k: v for k, v in compiled.params.items() if v is not None})

    def __getitem__(self, builder: Builder) -> Compiled:
        return self._compiled[builder]


class Connection(Protocol):
    """What a DB-API connection (sqlite3's or psycopg's) offers the statements."""

    def execute(self, sql: str, params: Any = ...) -> Any: ...

    def cursor(self) -> Any: ...


class Rows:
    """A transaction's access to its connection through compiled statements; the resource modules
    of the store (workspaces, links, ...) add their methods on top of it."""

    def __init__(self, conn: Connection, statements: Statements):
        self._conn = conn
        self._statements = statements

    def _params(self, compiled: Compiled, params: Params) -> Params:
        return {**compiled.constants, **params} if compiled.constants else params

    def _run(self, builder: Builder, **params: Any) -> Any:
        compiled = self._statements[builder]
        return self._conn.execute(compiled.sql, self._params(compiled, params))

    def _one(self, builder: Builder, **params: Any) -> Row | None:
        return self._run(builder, **params).fetchone()

    def _the(self, builder: Builder, **params: Any) -> Row:
        """The one row the statement must find (the caller checked that it exists)."""
        row = self._one(builder, **params)
        if row is None:
            raise LookupError(f"{builder.__name__}: no row for {params}")
        return row

    def _all(self, builder: Builder, **params: Any) -> list[Row]:
        return list(self._run(builder, **params).fetchall())

    def _many(self, builder: Builder, rows: Iterable[Params]) -> None:
        compiled = self._statements[builder]
        batch = [self._params(compiled, row) for row in rows]
        if batch:
            self._conn.cursor().executemany(compiled.sql, batch)


def upsert(insert: InsertFn, table: Table, keys: list[str], columns: list[str]) -> Statement:
    """INSERT of `keys` + `columns` from parameters of the same names; on a conflict of the keys,
    the columns are set to the new values."""
    stmt = insert(table).values({name: bindparam(name) for name in keys + columns})
    return stmt.on_conflict_do_update(index_elements=keys, set_={name: stmt.excluded[name] for name in columns})

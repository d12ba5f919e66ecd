"""Statements over many rows at once: the collector's rounds, the dispatcher's batches.

On PostgreSQL a batch travels as one array per column: `= ANY(:ids)` instead of an IN list of
thousands of parameters, and `unnest(:a, :b, ...)` as the rows of one INSERT … SELECT or
UPDATE … FROM, so the server plans and runs one statement instead of one per row. SQLite has
no arrays: there the same calls are an IN list and an executemany."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, any_, bindparam, column, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.selectable import ScalarSelect, TableValuedAlias


def is_postgresql(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def one_of(
    session: AsyncSession,
    column_: ColumnElement[Any] | InstrumentedAttribute[Any],
    values: Collection[Any],
) -> ColumnElement[bool]:
    """`column IN values` (`column = ANY(:array)` on PostgreSQL: one parameter, not thousands)."""
    if is_postgresql(session):
        return column_ == any_(literal(list(values), type_=ARRAY(column_.type)))
    return column_.in_(list(values))


def one_of_selected(
    session: AsyncSession, column_: ColumnElement[Any], selected: ScalarSelect[Any]
) -> ColumnElement[bool]:
    """`column IN (subquery)`; on PostgreSQL `column = ANY(ARRAY(subquery))`: the subquery runs
    first and its values are looked up one by one in `column`'s index (an IN may be planned
    as a hash join that reads the whole table)."""
    if is_postgresql(session):
        return column_ == any_(func.array(selected, type_=ARRAY(column_.type)))
    return column_.in_(selected)


def rows_of(session: AsyncSession, table: Table, names: Sequence[str]) -> TableValuedAlias:
    """PostgreSQL: `unnest(:each_a, :each_b, ...) AS v(a, b, ...)`, one array parameter per
    column of `table`, typed like it; execute with `as_arrays(...)`."""
    dialect = session.get_bind().dialect
    types = [table.c[name].type.dialect_impl(dialect) for name in names]
    arrays = (bindparam(f"each_{n}", type_=ARRAY(t)) for n, t in zip(names, types, strict=True))
    return (
        func.unnest(*arrays)
        .table_valued(*(column(n, t) for n, t in zip(names, types, strict=True)))
        .render_derived()
    )


def as_arrays(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, list[Any]]:
    """Rows (tuples in the order of `names`) as one list per column: the parameters of
    `rows_of(..., names)`."""
    columns = zip(*rows, strict=True)
    return {f"each_{name}": list(values) for name, values in zip(names, columns, strict=True)}


async def insert_rows(
    session: AsyncSession, table: Table, names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert `rows` (tuples in the order of `names`): one INSERT … SELECT FROM unnest on
    PostgreSQL, an executemany elsewhere."""
    if not rows:
        return
    if not is_postgresql(session):
        await session.execute(insert(table), [dict(zip(names, row, strict=True)) for row in rows])
        return
    source = rows_of(session, table, names)
    statement = insert(table).from_select(names, select(*(source.c[name] for name in names)))
    await session.execute(statement, as_arrays(names, rows))

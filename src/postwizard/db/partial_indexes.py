"""Conditions of partial indexes, and the query terms that let a planner use them.

A planner uses a partial index only when the query's WHERE repeats the index's condition with
its values written into the SQL: SQLite compares the terms, and PostgreSQL cannot prove the
condition from a parameter (nor in a generic plan). Both sides are made here from the same enum
values, never from input."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, TextClause, literal_column, text
from sqlalchemy.orm import InstrumentedAttribute


def _sql_values(values: Sequence[StrEnum]) -> list[str]:
    return [f"'{value.value}'" for value in values]


def index_condition(column_name: str, values: Sequence[StrEnum]) -> TextClause:
    """`column = 'a'` or `column IN ('a', 'b')`, the `where` of a partial index."""
    written = _sql_values(values)
    if len(written) == 1:
        return text(f"{column_name} = {written[0]}")
    return text(f"{column_name} IN ({', '.join(written)})")


def in_index(
    column: ColumnElement[Any] | InstrumentedAttribute[Any], values: Sequence[StrEnum]
) -> ColumnElement[bool]:
    """The query term matching `index_condition(column, values)`, values written out."""
    written: list[ColumnElement[Any]] = [literal_column(v) for v in _sql_values(values)]
    if len(written) == 1:
        return column == written[0]
    return column.in_(written)

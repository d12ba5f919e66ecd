"""Cursor pagination over time-ordered keys: stable under inserts, no OFFSET scans."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from postwizard.errors import PostWizardError

T = TypeVar("T")
Row = TypeVar("Row")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class PageParams:
    limit: int
    after: str | None


def page_params(
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description="How many items to return.")
    ] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


Pagination = Annotated[PageParams, Depends(page_params)]


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _invalid_cursor() from None


def _invalid_cursor() -> PostWizardError:
    return PostWizardError(
        "The cursor is not one this API handed out; start again without it.",
        code="invalid_cursor",
        fields=[{"field": "cursor", "message": "not a valid cursor"}],
    )


async def paginate(
    session: AsyncSession,
    statement: Select[Row],
    key: InstrumentedAttribute[Any],
    params: PageParams,
) -> tuple[Sequence[Row], str | None]:
    """Rows ordered by the unique, sortable `key`, and the cursor of the next page (or None)."""
    if params.after is not None:
        try:
            after = key.type.python_type(params.after)
        except (ValueError, TypeError):
            raise _invalid_cursor() from None
        statement = statement.where(key > after)
    rows = (await session.scalars(statement.order_by(key).limit(params.limit + 1))).all()
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    return rows, encode_cursor(str(getattr(rows[-1], key.key)))

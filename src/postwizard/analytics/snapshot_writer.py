"""The collector's write path: compare what the network answered with each delivery's (or
account's) latest snapshot, read for the whole batch in one query, and insert a row only
where a value changed (one INSERT for the batch, see `bulk.py`); every written post snapshot
is announced on the bus as `metrics.updated`.

The collector first works out what changed (`changed_*_snapshots`), then releases the jobs it
still holds, then inserts the snapshots of those (`insert_snapshots`); `write_*_snapshots` do
the first and last step in one call."""

from __future__ import annotations

import operator
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple, cast

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from postwizard.analytics.models import AccountStatsSnapshot, PostMetricSnapshot
from postwizard.db import bulk
from postwizard.ids import uuid7s
from postwizard.platforms.protocol import AccountStats, PostMetrics
from postwizard.realtime.bus import EventBus

POST_FIELDS = ("impressions", "likes", "reposts", "replies", "quotes", "bookmarks", "clicks")
ACCOUNT_FIELDS = ("followers", "following", "posts")
# Named counts a network may report in `extra` that have their own column.
_EXTRA_COLUMNS = ("bookmarks", "clicks")
METRICS_UPDATED = "metrics.updated"
# Core inserts (no ORM bookkeeping): the write path's throughput.
POST_SNAPSHOT_TABLE = cast(Table, PostMetricSnapshot.__table__)
ACCOUNT_SNAPSHOT_TABLE = cast(Table, AccountStatsSnapshot.__table__)
ACCOUNT_STATS_UPDATED = "account_stats.updated"
# The inserted rows, as tuples in this column order.
_POST_COLUMNS = (
    "id",
    "workspace_id",
    "delivery_id",
    "account_id",
    "collected_at",
    "extra",
    *POST_FIELDS,
)
_ACCOUNT_COLUMNS = ("id", "workspace_id", "account_id", "collected_at", *ACCOUNT_FIELDS)
_post_numbers = operator.itemgetter(*POST_FIELDS)
_NOTHING_ELSE: Mapping[str, Any] = MappingProxyType({})
_account_numbers = operator.itemgetter(*ACCOUNT_FIELDS)


# Named tuples rather than dataclasses: a round makes thousands of each, and a tuple is made
# several times faster than a frozen dataclass.
class MeasuredPost(NamedTuple):
    """A post job's delivery, as the write path needs it."""

    workspace_id: uuid.UUID
    account_id: uuid.UUID
    delivery_id: uuid.UUID
    post_id: uuid.UUID


class WrittenSnapshot(NamedTuple):
    workspace_id: uuid.UUID
    account_id: uuid.UUID
    collected_at: datetime
    values: Mapping[str, int | None]
    delivery_id: uuid.UUID | None = None
    post_id: uuid.UUID | None = None
    extra: Mapping[str, Any] = _NOTHING_ELSE


def post_values(metrics: PostMetrics) -> tuple[dict[str, int | None], dict[str, Any]]:
    """The normalised counts (bookmarks and clicks lifted out of `extra` where a network gives
    them) and the rest of `extra`."""
    extra = dict(metrics.extra)
    values: dict[str, int | None] = {
        "impressions": metrics.impressions,
        "likes": metrics.likes,
        "reposts": metrics.reposts,
        "replies": metrics.replies,
        "quotes": metrics.quotes,
    }
    for name in _EXTRA_COLUMNS:
        raw = extra.pop(name, None)
        values[name] = raw if isinstance(raw, int) else None
    return values, extra


def is_newest(
    snapshot: type[PostMetricSnapshot] | type[AccountStatsSnapshot], owner: str
) -> ColumnElement[bool]:
    """True for each owner's (`delivery_id`'s or `account_id`'s) newest snapshot: its
    (owner, collected_at) index answers it with one seek per owner."""
    newer = aliased(snapshot)
    newest_at = (
        select(func.max(newer.collected_at))
        .where(getattr(newer, owner) == getattr(snapshot, owner))
        .scalar_subquery()
    )
    return snapshot.collected_at == newest_at


async def latest_post_snapshots(
    session: AsyncSession, delivery_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, tuple[tuple[int | None, ...], dict[str, Any]]]:
    """Each delivery's latest numbers (in POST_FIELDS order) and extra, in one query (the
    (delivery_id, collected_at) index answers each delivery's newest row)."""
    if not delivery_ids:
        return {}
    columns = [getattr(PostMetricSnapshot, name) for name in POST_FIELDS]
    rows = (
        await session.execute(
            select(PostMetricSnapshot.delivery_id, PostMetricSnapshot.extra, *columns).where(
                bulk.one_of(session, PostMetricSnapshot.delivery_id, delivery_ids),
                is_newest(PostMetricSnapshot, "delivery_id"),
            )
        )
    ).all()
    return {row[0]: (tuple(row[2:]), row[1] or {}) for row in rows}


async def changed_post_snapshots(
    session: AsyncSession,
    measured: Sequence[MeasuredPost],
    answers: Mapping[uuid.UUID, PostMetrics],
    collected_at: datetime,
) -> list[WrittenSnapshot]:
    """The snapshot of each delivery whose numbers changed (or that has none yet), not yet
    written. `answers` maps delivery ids to what the network said; deliveries it did not answer
    for (deleted on the network) are skipped."""
    latest = await latest_post_snapshots(session, [m.delivery_id for m in measured])
    changed: list[WrittenSnapshot] = []
    for item in measured:
        answer = answers.get(item.delivery_id)
        if answer is None:
            continue
        values, extra = post_values(answer)
        if latest.get(item.delivery_id) == (_post_numbers(values), extra):
            continue
        changed.append(
            WrittenSnapshot(
                workspace_id=item.workspace_id,
                account_id=item.account_id,
                collected_at=collected_at,
                values=values,
                delivery_id=item.delivery_id,
                post_id=item.post_id,
                extra=extra,
            )
        )
    return changed


async def changed_account_snapshots(
    session: AsyncSession,
    answers: Mapping[uuid.UUID, tuple[uuid.UUID, AccountStats]],
    collected_at: datetime,
) -> list[WrittenSnapshot]:
    """The same for account stats; `answers` maps account ids to (workspace id, stats)."""
    if not answers:
        return []
    columns = [getattr(AccountStatsSnapshot, name) for name in ACCOUNT_FIELDS]
    latest = {
        row[0]: dict(zip(ACCOUNT_FIELDS, row[1:], strict=True))
        for row in await session.execute(
            select(AccountStatsSnapshot.account_id, *columns).where(
                bulk.one_of(session, AccountStatsSnapshot.account_id, answers),
                is_newest(AccountStatsSnapshot, "account_id"),
            )
        )
    }
    changed: list[WrittenSnapshot] = []
    for account_id, (workspace_id, stats) in answers.items():
        values: dict[str, int | None] = {
            "followers": stats.followers,
            "following": stats.following,
            "posts": stats.posts,
        }
        if latest.get(account_id) != values:
            changed.append(WrittenSnapshot(workspace_id, account_id, collected_at, values))
    return changed


async def insert_snapshots(session: AsyncSession, snapshots: Sequence[WrittenSnapshot]) -> None:
    """Insert post and account snapshots: one statement per table for the whole batch."""
    ids = uuid7s(len(snapshots))
    posts = [
        (
            id_,
            s.workspace_id,
            s.delivery_id,
            s.account_id,
            s.collected_at,
            s.extra,
            *_post_numbers(s.values),
        )
        for id_, s in zip(ids, snapshots, strict=True)
        if s.delivery_id is not None
    ]
    accounts = [
        (id_, s.workspace_id, s.account_id, s.collected_at) + _account_numbers(s.values)  # noqa: RUF005
        for id_, s in zip(ids, snapshots, strict=True)
        if s.delivery_id is None
    ]
    await bulk.insert_rows(session, POST_SNAPSHOT_TABLE, _POST_COLUMNS, posts)
    await bulk.insert_rows(session, ACCOUNT_SNAPSHOT_TABLE, _ACCOUNT_COLUMNS, accounts)


async def write_post_snapshots(
    session: AsyncSession,
    measured: Sequence[MeasuredPost],
    answers: Mapping[uuid.UUID, PostMetrics],
    collected_at: datetime,
) -> list[WrittenSnapshot]:
    """Insert a snapshot for each delivery whose numbers changed (see
    `changed_post_snapshots`); what was written."""
    written = await changed_post_snapshots(session, measured, answers, collected_at)
    await insert_snapshots(session, written)
    return written


async def write_account_snapshots(
    session: AsyncSession,
    answers: Mapping[uuid.UUID, tuple[uuid.UUID, AccountStats]],
    collected_at: datetime,
) -> list[WrittenSnapshot]:
    """The same for account stats; `answers` maps account ids to (workspace id, stats)."""
    written = await changed_account_snapshots(session, answers, collected_at)
    await insert_snapshots(session, written)
    return written


async def announce(bus: EventBus, written: Sequence[WrittenSnapshot]) -> None:
    """After the commit: one event per written snapshot, for live counters in the browser."""
    moments: dict[datetime, str] = {}  # a round's snapshots share one collected_at
    for snapshot in written:
        collected_at = moments.get(snapshot.collected_at)
        if collected_at is None:
            collected_at = moments[snapshot.collected_at] = snapshot.collected_at.isoformat()
        if snapshot.delivery_id is not None:
            await bus.publish(
                snapshot.workspace_id,
                METRICS_UPDATED,
                {
                    "delivery_id": str(snapshot.delivery_id),
                    "post_id": str(snapshot.post_id),
                    "account_id": str(snapshot.account_id),
                    "collected_at": collected_at,
                    "metrics": dict(snapshot.values),
                    "extra": dict(snapshot.extra),
                },
            )
        else:
            await bus.publish(
                snapshot.workspace_id,
                ACCOUNT_STATS_UPDATED,
                {
                    "account_id": str(snapshot.account_id),
                    "collected_at": collected_at,
                    "stats": dict(snapshot.values),
                },
            )

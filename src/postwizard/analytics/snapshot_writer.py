"""The collector's write path: compare what the network answered with each delivery's (or
account's) latest snapshot, read for the whole batch in one query, and insert a row only
where a value changed; every written post snapshot is announced on the bus as
`metrics.updated`."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from postwizard.analytics.models import AccountStatsSnapshot, PostMetricSnapshot
from postwizard.ids import uuid7
from postwizard.platforms.protocol import AccountStats, PostMetrics
from postwizard.realtime.bus import EventBus

POST_FIELDS = ("impressions", "likes", "reposts", "replies", "quotes", "bookmarks", "clicks")
ACCOUNT_FIELDS = ("followers", "following", "posts")
# Named counts a network may report in `extra` that have their own column.
_EXTRA_COLUMNS = ("bookmarks", "clicks")
METRICS_UPDATED = "metrics.updated"
# Core inserts (executemany, no ORM bookkeeping): the write path's throughput.
POST_SNAPSHOT_TABLE = cast(Table, PostMetricSnapshot.__table__)
ACCOUNT_SNAPSHOT_TABLE = cast(Table, AccountStatsSnapshot.__table__)
ACCOUNT_STATS_UPDATED = "account_stats.updated"


@dataclass(frozen=True)
class MeasuredPost:
    """A post job's delivery, as the write path needs it."""

    workspace_id: uuid.UUID
    account_id: uuid.UUID
    delivery_id: uuid.UUID
    post_id: uuid.UUID


@dataclass(frozen=True)
class WrittenSnapshot:
    workspace_id: uuid.UUID
    account_id: uuid.UUID
    collected_at: datetime
    values: Mapping[str, int | None]
    delivery_id: uuid.UUID | None = None
    post_id: uuid.UUID | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


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
) -> dict[uuid.UUID, tuple[dict[str, int | None], dict[str, Any]]]:
    """Each delivery's latest values and extra, in one query (the (delivery_id, collected_at)
    index answers each delivery's newest row)."""
    if not delivery_ids:
        return {}
    columns = [getattr(PostMetricSnapshot, name) for name in POST_FIELDS]
    rows = await session.execute(
        select(PostMetricSnapshot.delivery_id, PostMetricSnapshot.extra, *columns).where(
            PostMetricSnapshot.delivery_id.in_(list(delivery_ids)),
            is_newest(PostMetricSnapshot, "delivery_id"),
        )
    )
    latest: dict[uuid.UUID, tuple[dict[str, int | None], dict[str, Any]]] = {}
    for row in rows:
        values = dict(zip(POST_FIELDS, row[2:], strict=True))
        latest[row[0]] = (values, dict(row[1] or {}))
    return latest


async def write_post_snapshots(
    session: AsyncSession,
    measured: Sequence[MeasuredPost],
    answers: Mapping[uuid.UUID, PostMetrics],
    collected_at: datetime,
) -> list[WrittenSnapshot]:
    """Insert a snapshot for each delivery whose numbers changed (or that has none yet).
    `answers` maps delivery ids to what the network said; deliveries it did not answer for
    (deleted on the network) are skipped."""
    latest = await latest_post_snapshots(session, [m.delivery_id for m in measured])
    written: list[WrittenSnapshot] = []
    rows: list[dict[str, Any]] = []
    for item in measured:
        answer = answers.get(item.delivery_id)
        if answer is None:
            continue
        values, extra = post_values(answer)
        if latest.get(item.delivery_id) == (values, extra):
            continue
        rows.append(
            {
                "id": uuid7(),
                "workspace_id": item.workspace_id,
                "delivery_id": item.delivery_id,
                "account_id": item.account_id,
                "collected_at": collected_at,
                "extra": extra,
                **values,
            }
        )
        written.append(
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
    if rows:
        await session.execute(insert(POST_SNAPSHOT_TABLE), rows)
    return written


async def write_account_snapshots(
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
                AccountStatsSnapshot.account_id.in_(list(answers)),
                is_newest(AccountStatsSnapshot, "account_id"),
            )
        )
    }
    written: list[WrittenSnapshot] = []
    for account_id, (workspace_id, stats) in answers.items():
        values: dict[str, int | None] = {
            "followers": stats.followers,
            "following": stats.following,
            "posts": stats.posts,
        }
        if latest.get(account_id) == values:
            continue
        written.append(WrittenSnapshot(workspace_id, account_id, collected_at, values))
    if written:
        await session.execute(
            insert(ACCOUNT_SNAPSHOT_TABLE),
            [
                {
                    "id": uuid7(),
                    "workspace_id": w.workspace_id,
                    "account_id": w.account_id,
                    "collected_at": w.collected_at,
                    **w.values,
                }
                for w in written
            ],
        )
    return written


async def announce(bus: EventBus, written: Sequence[WrittenSnapshot]) -> None:
    """After the commit: one event per written snapshot, for live counters in the browser."""
    for snapshot in written:
        if snapshot.delivery_id is not None:
            await bus.publish(
                snapshot.workspace_id,
                METRICS_UPDATED,
                {
                    "delivery_id": str(snapshot.delivery_id),
                    "post_id": str(snapshot.post_id),
                    "account_id": str(snapshot.account_id),
                    "collected_at": snapshot.collected_at.isoformat(),
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
                    "collected_at": snapshot.collected_at.isoformat(),
                    "stats": dict(snapshot.values),
                },
            )

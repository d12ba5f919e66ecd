"""Retention: snapshots older than the retention period are thinned to one per delivery (or
account) per UTC day, the latest of that day, so the tables stay bounded while history keeps
its daily shape.

Bounded work per run: each job remembers the oldest snapshot not yet thinned (`thin_from`,
set when a snapshot is written), so a run picks at most `limit` jobs that have something old
enough, thins their complete days before the cutoff, and moves `thin_from` past them. Jobs a
collector holds are left for the next run (their `thin_from` is the collector's to write)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.analytics.jobs import MetricJob, MetricJobKind, MetricJobState
from postwizard.analytics.models import AccountStatsSnapshot, PostMetricSnapshot


def start_of_day(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def surplus(rows: Sequence[tuple[uuid.UUID, uuid.UUID, datetime]]) -> list[uuid.UUID]:
    """Of (snapshot id, owner id, collected_at) rows, the ids to delete: all but the latest
    snapshot of each owner on each UTC day."""
    keep: dict[tuple[uuid.UUID, date], tuple[datetime, uuid.UUID]] = {}
    drop: list[uuid.UUID] = []
    for snapshot_id, owner, collected_at in rows:
        key = (owner, collected_at.astimezone(UTC).date())
        kept = keep.get(key)
        if kept is None:
            keep[key] = (collected_at, snapshot_id)
        elif (collected_at, snapshot_id) > kept:
            drop.append(kept[1])
            keep[key] = (collected_at, snapshot_id)
        else:
            drop.append(snapshot_id)
    return drop


async def thin_old_snapshots(
    session: AsyncSession, now: datetime, retention: timedelta, limit: int = 200
) -> int:
    """One bounded run (the caller commits); how many snapshots were deleted."""
    cutoff = start_of_day(now - retention)
    jobs = (
        await session.execute(
            select(MetricJob.id, MetricJob.kind, MetricJob.delivery_id, MetricJob.account_id)
            .where(MetricJob.thin_from < cutoff, MetricJob.state != MetricJobState.CLAIMED)
            .order_by(MetricJob.thin_from)
            .limit(limit)
        )
    ).all()
    deleted = 0
    for kind, table, owner_column in (
        (MetricJobKind.POST, PostMetricSnapshot, PostMetricSnapshot.delivery_id),
        (MetricJobKind.ACCOUNT, AccountStatsSnapshot, AccountStatsSnapshot.account_id),
    ):
        owners = {
            (job.delivery_id if kind == MetricJobKind.POST else job.account_id): job.id
            for job in jobs
            if job.kind == kind
        }
        if not owners:
            continue
        old = (
            await session.execute(
                select(table.id, owner_column, table.collected_at).where(
                    owner_column.in_(list(owners)), table.collected_at < cutoff
                )
            )
        ).all()
        doomed = surplus([(row[0], row[1], row[2]) for row in old])
        if doomed:
            await session.execute(
                delete(table)
                .where(table.id.in_(doomed))
                .execution_options(synchronize_session=False)
            )
            deleted += len(doomed)
        # Next time, start from the oldest snapshot not thinned yet (None: none so far).
        newest_left = (
            select(func.min(table.collected_at))
            .where(owner_column == _owner_of(kind), table.collected_at >= cutoff)
            .scalar_subquery()
        )
        await session.execute(
            update(MetricJob)
            .where(
                MetricJob.id.in_(list(owners.values())),
                MetricJob.state != MetricJobState.CLAIMED,
            )
            .values(thin_from=newest_left)
            .execution_options(synchronize_session=False)
        )
    return deleted


def _owner_of(kind: MetricJobKind) -> Any:
    return MetricJob.delivery_id if kind == MetricJobKind.POST else MetricJob.account_id

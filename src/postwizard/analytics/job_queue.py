"""Queries on metric jobs: creating them, and the lease claim that lets any number of
collectors share them (the same mechanism as the dispatcher's, see publishing/repository.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.models import AccountStatus, SocialAccount
from postwizard.analytics.jobs import MetricJob, MetricJobKind, MetricJobState
from postwizard.db.base import utcnow
from postwizard.ids import uuid7
from postwizard.platforms.networks import Network
from postwizard.platforms.registry import PlatformRegistry
from postwizard.publishing.models import Delivery


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def metric_networks(platforms: PlatformRegistry) -> list[Network]:
    """The networks whose adapters give numbers about posts."""
    return [network for network in Network if platforms.provides_metrics(network)]


async def add_post_job(
    session: AsyncSession,
    delivery: Delivery,
    platforms: PlatformRegistry,
    first_after: timedelta,
) -> None:
    """The delivery was just published: plan its collection (first due `first_after` after
    publishing) in the same transaction, so a published delivery always has its job. One
    INSERT … SELECT: nothing is read first, and accounts of networks without metrics
    (`provides_metrics` False) get no job at all."""
    networks = metric_networks(platforms)
    if delivery.remote_id is None or not networks:
        return
    now = utcnow()
    anchor = delivery.published_at or now
    first_due = anchor + first_after
    source = select(
        _literal(uuid7()),
        _literal(now),
        _literal(delivery.workspace_id),
        _literal(MetricJobKind.POST.value),
        SocialAccount.id,
        _literal(delivery.id),
        _literal(delivery.post_id),
        _literal(delivery.remote_id),
        _literal(anchor),
        _literal(0),
        _literal(MetricJobState.WAITING.value),
        _literal(first_due),
        _literal(0),
    ).where(SocialAccount.id == delivery.account_id, SocialAccount.network.in_(networks))
    columns = [
        "id",
        "created_at",
        "workspace_id",
        "kind",
        "account_id",
        "delivery_id",
        "post_id",
        "remote_id",
        "anchor_at",
        "step",
        "state",
        "due_at",
        "failures",
    ]
    statement = _insert(session)(MetricJob).from_select(columns, source)
    await session.execute(statement.on_conflict_do_nothing())


def _literal(value: object) -> ColumnElement[Any]:
    if isinstance(value, datetime):
        return literal(value, type_=MetricJob.__table__.c.due_at.type)
    if isinstance(value, uuid.UUID):
        return literal(value, type_=MetricJob.__table__.c.id.type)
    return literal(value)


async def ensure_account_jobs(session: AsyncSession, now: datetime, limit: int = 1000) -> int:
    """Give every account without one its hourly stats job (accounts connected since the last
    sweep, and the ones that existed before collection did); how many were added."""
    has_job = (
        select(MetricJob.id)
        .where(MetricJob.account_id == SocialAccount.id, MetricJob.kind == MetricJobKind.ACCOUNT)
        .exists()
    )
    missing = (
        await session.execute(
            select(SocialAccount.id, SocialAccount.workspace_id, SocialAccount.created_at)
            .where(~has_job)
            .limit(limit)
        )
    ).all()
    if not missing:
        return 0
    values = [
        {
            "id": uuid7(),
            "created_at": now,
            "workspace_id": workspace_id,
            "kind": MetricJobKind.ACCOUNT,
            "account_id": account_id,
            "anchor_at": created_at,
            "step": 0,
            "state": MetricJobState.WAITING,
            "due_at": now,
            "failures": 0,
        }
        for account_id, workspace_id, created_at in missing
    ]
    await session.execute(_insert(session)(MetricJob).values(values).on_conflict_do_nothing())
    return len(values)


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Due waiting jobs, and claims whose collector's lease ran out (it died or hung). Only of
    connected accounts: an account that lost its access is left alone until reconnected, when
    its jobs are due at once."""
    return and_(
        or_(
            (MetricJob.state == MetricJobState.WAITING) & (MetricJob.due_at <= now),
            (MetricJob.state == MetricJobState.CLAIMED) & (MetricJob.lease_expires_at < now),
        ),
        select(SocialAccount.id)
        .where(
            SocialAccount.id == MetricJob.account_id,
            SocialAccount.status == AccountStatus.CONNECTED,
        )
        .exists(),
    )


async def claim_due_jobs(
    session: AsyncSession, worker: str, now: datetime, lease_until: datetime, limit: int
) -> Sequence[MetricJob]:
    """Lease up to `limit` due jobs to `worker`, oldest due first (`FOR UPDATE SKIP LOCKED` on
    PostgreSQL; one atomic UPDATE … RETURNING on SQLite)."""
    candidates = (
        select(MetricJob.id)
        .where(_claimable(now))
        .order_by(MetricJob.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = await session.scalars(
        update(MetricJob)
        .where(MetricJob.id.in_(candidates.scalar_subquery()))
        .values(state=MetricJobState.CLAIMED, lease_owner=worker, lease_expires_at=lease_until)
        .returning(MetricJob)
        .execution_options(synchronize_session=False)
    )
    return claimed.all()


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the collector next has something to do (to sleep until then)."""
    return await session.scalar(
        select(
            func.min(
                func.coalesce(
                    # A claimed job becomes claimable again when its lease runs out.
                    MetricJob.lease_expires_at,
                    MetricJob.due_at,
                )
            )
        ).where(
            MetricJob.state.in_((MetricJobState.WAITING, MetricJobState.CLAIMED)),
            select(SocialAccount.id)
            .where(
                SocialAccount.id == MetricJob.account_id,
                SocialAccount.status == AccountStatus.CONNECTED,
            )
            .exists(),
        )
    )


async def still_held(
    session: AsyncSession, job_ids: Iterable[uuid.UUID], worker: str, now: datetime
) -> set[uuid.UUID]:
    """The jobs `worker` still holds an unexpired lease on, locked (PostgreSQL) until the
    transaction ends, so no other collector can take them over while this one writes."""
    rows = await session.scalars(
        select(MetricJob.id)
        .where(
            MetricJob.id.in_(list(job_ids)),
            MetricJob.state == MetricJobState.CLAIMED,
            MetricJob.lease_owner == worker,
            MetricJob.lease_expires_at > now,
        )
        .with_for_update()
    )
    return set(rows)


async def release(session: AsyncSession, changes: Sequence[dict[str, Any]]) -> None:
    """Write each job's next state: one Core executemany per set of changed columns (cheaper
    per row than the ORM's bulk update)."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for change in changes:
        columns = tuple(sorted(key for key in change if key != "id"))
        by_columns.setdefault(columns, []).append(
            {"job_id": change["id"], **{f"new_{key}": change[key] for key in columns}}
        )
    table = cast(Table, MetricJob.__table__)
    for columns, rows in by_columns.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("job_id"))
            .values({key: bindparam(f"new_{key}") for key in columns})
        )
        await session.execute(statement, rows)


async def jobs_of_post(session: AsyncSession, post_id: uuid.UUID) -> Sequence[MetricJob]:
    return (await session.scalars(select(MetricJob).where(MetricJob.post_id == post_id))).all()


async def request_refresh(
    session: AsyncSession, post_id: uuid.UUID, now: datetime
) -> Sequence[uuid.UUID]:
    """Make the post's jobs due now (a finished schedule collects once more); the ids touched.
    Claimed jobs are left to their collector, which is measuring them anyway."""
    result = await session.scalars(
        update(MetricJob)
        .where(
            MetricJob.post_id == post_id,
            MetricJob.state.in_((MetricJobState.WAITING, MetricJobState.DONE)),
        )
        .values(state=MetricJobState.WAITING, due_at=now, refresh_requested_at=now)
        .returning(MetricJob.id)
        .execution_options(synchronize_session=False)
    )
    return result.all()

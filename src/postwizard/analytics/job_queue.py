"""Queries on metric jobs: creating them, and the lease claim that lets any number of
collectors share them (the same mechanism as the dispatcher's, see publishing/repository.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.models import AccountStatus, SocialAccount
from postwizard.analytics.jobs import MetricJob, MetricJobKind, MetricJobState
from postwizard.db import bulk
from postwizard.db.base import utcnow
from postwizard.db.partial_indexes import in_index
from postwizard.ids import uuid7
from postwizard.platforms.networks import Network
from postwizard.platforms.registry import PlatformRegistry
from postwizard.publishing.models import Delivery

JOB_TABLE = cast(Table, MetricJob.__table__)


class ClaimedJob(NamedTuple):
    """What a collector needs of a job it claimed: its columns, read without the ORM (a round
    claims thousands)."""

    id: uuid.UUID
    kind: MetricJobKind
    workspace_id: uuid.UUID
    account_id: uuid.UUID
    delivery_id: uuid.UUID | None
    post_id: uuid.UUID | None
    remote_id: str | None
    anchor_at: datetime
    failures: int


class NextStep(NamedTuple):
    """Where a collected job goes: `state`, and `step` / `due_at` when they change (None keeps
    them); `thin_from` is set to it unless the job already has an older one."""

    id: uuid.UUID
    state: MetricJobState
    step: int | None
    due_at: datetime | None
    thin_from: datetime | None


_STEP = NextStep._fields


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def metric_networks(platforms: PlatformRegistry) -> list[Network]:
    """The networks whose adapters give numbers about posts."""
    return [network for network in Network if platforms.provides_metrics(network)]


async def add_post_jobs(
    session: AsyncSession,
    deliveries: Sequence[Delivery],
    platforms: PlatformRegistry,
    first_after: timedelta,
) -> None:
    """The deliveries were just published: plan their collection (first due `first_after` after
    publishing) in the same transaction, so a published delivery always has its job. One
    INSERT … SELECT executed for all of them at once: nothing is read first, and accounts of
    networks without metrics (`provides_metrics` False) get no job at all."""
    networks = metric_networks(platforms)
    published = [delivery for delivery in deliveries if delivery.remote_id is not None]
    if not published or not networks:
        return
    now = utcnow()
    rows = []
    for delivery in published:
        anchor = delivery.published_at or now
        rows.append(
            {
                "job_id": uuid7(),
                "job_created_at": now,
                "job_workspace_id": delivery.workspace_id,
                "job_account_id": delivery.account_id,
                "job_delivery_id": delivery.id,
                "job_post_id": delivery.post_id,
                "job_remote_id": delivery.remote_id,
                "job_anchor_at": anchor,
                "job_due_at": anchor + first_after,
            }
        )
    await session.execute(_post_job_insert(session, networks), rows)


def _post_job_insert(session: AsyncSession, networks: Sequence[Network]) -> Any:
    """The INSERT … SELECT of one post job per parameter set; the networks are compared one by
    one because an IN list cannot take part in an executemany."""
    table = JOB_TABLE
    account = cast(Table, SocialAccount.__table__)

    def value(name: str) -> ColumnElement[Any]:
        return bindparam(f"job_{name}", type_=table.c[name].type)

    source = select(
        value("id"),
        value("created_at"),
        value("workspace_id"),
        _literal(MetricJobKind.POST.value),
        account.c.id,
        value("delivery_id"),
        value("post_id"),
        value("remote_id"),
        value("anchor_at"),
        _literal(0),
        _literal(MetricJobState.WAITING.value),
        value("due_at"),
        _literal(0),
    ).where(
        account.c.id == value("account_id"),
        or_(*(account.c.network == network.value for network in networks)),
    )
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
    return _insert(session)(table).from_select(columns, source).on_conflict_do_nothing()


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
        .where(
            MetricJob.account_id == SocialAccount.id,
            # Written out, so that the partial index uq_metric_job_account_stats answers it.
            in_index(MetricJob.kind, [MetricJobKind.ACCOUNT]),
        )
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


def _connected_account() -> ColumnElement[bool]:
    """Only jobs of connected accounts are claimed: an account that lost its access is left
    alone until reconnected, when its jobs are due at once. Written as "not one of the
    accounts that are not connected" (a short list, read once per statement): an EXISTS per
    job let PostgreSQL's planner turn it into a join from the accounts, which read and sorted
    every due job for each batch instead of stopping at the batch size."""
    not_connected = select(SocialAccount.id).where(SocialAccount.status != AccountStatus.CONNECTED)
    return JOB_TABLE.c.account_id.not_in(not_connected)


def _in_state(state: MetricJobState) -> ColumnElement[bool]:
    """`state = '<state>'` written out in the SQL, not a parameter: only then can the planner
    (SQLite's, and PostgreSQL's generic plans) use the partial index of that state."""
    return in_index(JOB_TABLE.c.state, [state])


# What a claim takes: claims whose collector's lease ran out (it died or hung), then due waiting
# jobs. Two conditions, each a range scan of its own partial index (migration 0015) in order
# that stops after `limit` rows; one OR of both made the server read and sort every due job
# for each batch. The expired-lease scan stops at the first lease still running, so the
# leases of the jobs being collected cost it nothing.
_LEASE_RAN_OUT = (_in_state(MetricJobState.CLAIMED), JOB_TABLE.c.lease_expires_at)
_DUE = (_in_state(MetricJobState.WAITING), JOB_TABLE.c.due_at)


async def claim_due_jobs(
    session: AsyncSession, worker: str, now: datetime, lease_until: datetime, limit: int
) -> list[ClaimedJob]:
    """Lease up to `limit` due jobs to `worker`: jobs whose lease ran out first, then the
    oldest due (`FOR UPDATE SKIP LOCKED` on PostgreSQL; atomic UPDATE … RETURNING on SQLite).
    Columns only, no ORM objects: a round claims thousands."""
    # One object per workspace and account instead of one per row: a round's jobs stay alive
    # until it ends, and fewer long-lived objects mean cheaper garbage collections.
    shared: dict[uuid.UUID, uuid.UUID] = {}
    claimed: list[ClaimedJob] = []
    for in_state, moment in (_LEASE_RAN_OUT, _DUE):
        if len(claimed) == limit:
            break
        candidates = (
            select(JOB_TABLE.c.id)
            .where(in_state, moment <= now, _connected_account())
            .order_by(moment)
            .limit(limit - len(claimed))
            .with_for_update(skip_locked=True)
        )
        rows = await session.execute(
            update(JOB_TABLE)
            .where(bulk.one_of_selected(session, JOB_TABLE.c.id, candidates.scalar_subquery()))
            .values(state=MetricJobState.CLAIMED, lease_owner=worker, lease_expires_at=lease_until)
            .returning(*(JOB_TABLE.c[name] for name in ClaimedJob._fields))
        )
        claimed += [
            ClaimedJob(
                row[0],
                row[1],
                shared.setdefault(row[2], row[2]),
                shared.setdefault(row[3], row[3]),
                row[4],
                row[5],
                row[6],
                row[7],
                row[8],
            )
            for row in rows.all()
        ]
    return claimed


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the collector next has something to do (to sleep until then): the earliest due
    waiting job or lease running out (a claimed job is claimable again then), of a connected
    account. One seek in each claim index, not a pass over every job."""
    first = [
        select(moment)
        .where(in_state, _connected_account())
        .order_by(moment)
        .limit(1)
        .scalar_subquery()
        for in_state, moment in (_DUE, _LEASE_RAN_OUT)
    ]
    moments = (await session.execute(select(*first))).one()
    return min((moment for moment in moments if moment is not None), default=None)


async def still_held(
    session: AsyncSession, job_ids: Iterable[uuid.UUID], worker: str, now: datetime
) -> set[uuid.UUID]:
    """The jobs `worker` still holds an unexpired lease on, locked (PostgreSQL) until the
    transaction ends, so no other collector can take them over while this one writes."""
    rows = await session.scalars(
        select(MetricJob.id)
        .where(
            bulk.one_of(session, MetricJob.id, list(job_ids)),
            MetricJob.state == MetricJobState.CLAIMED,
            MetricJob.lease_owner == worker,
            MetricJob.lease_expires_at > now,
        )
        .with_for_update()
    )
    return set(rows.all())


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


def _collected_values(now: datetime, new: Mapping[str, Any]) -> dict[str, Any]:
    """The SET clause of a collected job, `new` giving each NextStep column's new value."""
    table = JOB_TABLE
    return {
        "state": new["state"],
        "step": func.coalesce(new["step"], table.c.step),
        "due_at": func.coalesce(new["due_at"], table.c.due_at),
        "thin_from": func.coalesce(table.c.thin_from, new["thin_from"]),
        "lease_owner": None,
        "lease_expires_at": None,
        "failures": 0,
        "last_error": None,
        "collected_at": now,
    }


async def release_collected(
    session: AsyncSession, worker: str, now: datetime, steps: Sequence[NextStep]
) -> set[uuid.UUID]:
    """Move the collected jobs `worker` still holds to their next step (lease freed, failures
    cleared, `collected_at` = now) and return their ids: only their snapshots may be written.
    Their rows stay locked until the transaction ends, so no other collector takes them over
    meanwhile. PostgreSQL: one UPDATE … FROM unnest(…) … RETURNING for the whole round."""
    if not steps:
        return set()
    table = JOB_TABLE
    if not bulk.is_postgresql(session):  # one collector on SQLite: check, then executemany
        held = await still_held(session, [step.id for step in steps], worker, now)
        binds = {name: bindparam(f"new_{name}", type_=table.c[name].type) for name in _STEP}
        rows = [
            {f"new_{name}": value for name, value in zip(_STEP, step, strict=True)}
            for step in steps
            if step.id in held
        ]
        if rows:
            statement = update(table).where(table.c.id == binds["id"])
            await session.execute(statement.values(_collected_values(now, binds)), rows)
        return held
    new = bulk.rows_of(session, table, _STEP)
    statement = (
        update(table)
        .where(
            table.c.id == new.c.id,
            table.c.state == MetricJobState.CLAIMED,
            table.c.lease_owner == worker,
            table.c.lease_expires_at > now,
        )
        .values(_collected_values(now, {name: new.c[name] for name in _STEP}))
        .returning(table.c.id)
    )
    return set((await session.scalars(statement, bulk.as_arrays(_STEP, steps))).all())


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

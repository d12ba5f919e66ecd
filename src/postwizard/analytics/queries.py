"""SQL over the snapshot tables, the same statements on PostgreSQL and SQLite.

A delivery's numbers are its *latest* snapshot (a row is written only when a value changed).
It is found per delivery by an index seek, never by scanning or ranking the whole table:

    latest snapshot  `ix_post_metric_snapshot_delivery_id_collected_at` (delivery_id, collected_at):
                     `ORDER BY collected_at DESC LIMIT 1` per delivery reads one index entry;
    deliveries       `ix_delivery_workspace_id_published_at` (workspace_id, published_at),
                     added by migration 0010: the published deliveries of a period are a range;
    followers        `ix_account_stats_snapshot_account_id_collected_at` (account_id, collected_at):
                     the count before a moment is one seek per account.

So the cost grows with the deliveries in the period, not with the snapshots stored (millions).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    Table,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.models import SocialAccount
from postwizard.analytics.models import AccountStatsSnapshot, PostMetricSnapshot
from postwizard.platforms.networks import Network
from postwizard.posts.models import Post
from postwizard.publishing.models import Delivery, DeliveryState

# The counts a snapshot has, in the order the API and CSV show them.
METRICS = ("impressions", "likes", "reposts", "replies", "quotes", "bookmarks", "clicks")
# What counts as an engagement: every interaction a person made with the post.
ENGAGEMENT_METRICS = ("likes", "reposts", "replies", "quotes", "bookmarks", "clicks")

SNAPSHOT = cast(Table, PostMetricSnapshot.__table__)


def engagements_of(snapshot: Any) -> ColumnElement[int]:
    """likes + reposts + replies + quotes + bookmarks + clicks; a count the network lacks is 0."""
    total: ColumnElement[int] = literal(0)
    for name in ENGAGEMENT_METRICS:
        total = total + func.coalesce(getattr(snapshot, name), 0)
    return total


@dataclass(frozen=True)
class LatestSnapshot:
    """Each delivery's newest snapshot, as a FROM item named `latest` joined to `Delivery`.

    PostgreSQL: `LEFT JOIN LATERAL (... ORDER BY collected_at DESC LIMIT 1)`, one backward
    index scan and one heap fetch per delivery. SQLite (no LATERAL): the newest row's rowid
    from the (delivery_id, collected_at) index alone (it holds the rowid), then that row.
    """

    source: FromClause
    on: ColumnElement[bool]

    @property
    def c(self) -> Any:
        return self.source.c

    @property
    def engagements(self) -> ColumnElement[int]:
        return engagements_of(self.c)

    @property
    def rated_engagements(self) -> ColumnElement[int]:
        """Engagements of deliveries whose network reports impressions: the rate's numerator."""
        return case((self.c.impressions > 0, self.engagements), else_=0)


def latest_snapshot(session: AsyncSession) -> LatestSnapshot:
    newest_first = (
        select(SNAPSHOT)
        .where(SNAPSHOT.c.delivery_id == Delivery.id)
        .order_by(SNAPSHOT.c.collected_at.desc())
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        return LatestSnapshot(newest_first.lateral("latest"), true())
    newest_rowid = (
        newest_first.with_only_columns(literal_column("rowid"))
        .correlate(Delivery)
        .scalar_subquery()
    )
    return LatestSnapshot(SNAPSHOT.alias("latest"), literal_column("latest.rowid") == newest_rowid)


@dataclass(frozen=True)
class Window:
    """Published deliveries of a workspace in [start, end), optionally of some accounts only."""

    workspace_id: uuid.UUID
    start: datetime
    end: datetime
    account_ids: Sequence[uuid.UUID] = ()

    def where(self) -> ColumnElement[bool]:
        condition = and_(
            Delivery.workspace_id == self.workspace_id,
            Delivery.published_at >= self.start,
            Delivery.published_at < self.end,
            Delivery.state == DeliveryState.PUBLISHED,
        )
        if self.account_ids:
            condition = and_(condition, Delivery.account_id.in_(self.account_ids))
        return condition


def _with_latest(statement: Select[Any], latest: LatestSnapshot) -> Select[Any]:
    """Join each delivery to its newest snapshot (none yet: NULL counts, the post still counts)."""
    return statement.select_from(Delivery).outerjoin(latest.source, latest.on)


@dataclass(frozen=True)
class Totals:
    """Sums over a set of published deliveries. `rated_engagements` are those of deliveries
    with impressions, the numerator of the engagement rate."""

    posts: int = 0
    deliveries: int = 0
    measured: int = 0
    impressions: int = 0
    engagements: int = 0
    rated_engagements: int = 0
    likes: int = 0
    reposts: int = 0
    replies: int = 0

    @property
    def engagement_rate(self) -> float | None:
        return self.rated_engagements / self.impressions if self.impressions else None


def _total_columns(latest: LatestSnapshot) -> list[Any]:
    return [
        func.count(func.distinct(Delivery.post_id)).label("posts"),
        func.count(Delivery.id).label("deliveries"),
        func.count(latest.c.id).label("measured"),
        func.coalesce(func.sum(latest.c.impressions), 0).label("impressions"),
        func.coalesce(func.sum(latest.engagements), 0).label("engagements"),
        func.coalesce(func.sum(latest.rated_engagements), 0).label("rated_engagements"),
        func.coalesce(func.sum(latest.c.likes), 0).label("likes"),
        func.coalesce(func.sum(latest.c.reposts), 0).label("reposts"),
        func.coalesce(func.sum(latest.c.replies), 0).label("replies"),
    ]


def _totals(values: Any) -> Totals:
    return Totals(
        posts=int(values.posts),
        deliveries=int(values.deliveries),
        measured=int(values.measured),
        impressions=int(values.impressions),
        engagements=int(values.engagements),
        rated_engagements=int(values.rated_engagements),
        likes=int(values.likes),
        reposts=int(values.reposts),
        replies=int(values.replies),
    )


async def totals(session: AsyncSession, window: Window) -> Totals:
    """Posts published in the window and their current numbers, summed."""
    latest = latest_snapshot(session)
    statement = _with_latest(select(*_total_columns(latest)), latest).where(window.where())
    return _totals((await session.execute(statement)).one())


async def totals_by_account(session: AsyncSession, window: Window) -> dict[uuid.UUID, Totals]:
    latest = latest_snapshot(session)
    statement = (
        _with_latest(select(Delivery.account_id, *_total_columns(latest)), latest)
        .where(window.where())
        .group_by(Delivery.account_id)
    )
    return {row.account_id: _totals(row) for row in await session.execute(statement)}


async def totals_by_network(session: AsyncSession, window: Window) -> dict[Network, Totals]:
    latest = latest_snapshot(session)
    statement = (
        _with_latest(select(SocialAccount.network, *_total_columns(latest)), latest)
        .join(SocialAccount, SocialAccount.id == Delivery.account_id)
        .where(window.where())
        .group_by(SocialAccount.network)
    )
    return {row.network: _totals(row) for row in await session.execute(statement)}


@dataclass(frozen=True)
class DeliveryNumbers:
    """One published delivery with its post's facts and current numbers (None: not measured)."""

    delivery_id: uuid.UUID
    post_id: uuid.UUID
    account_id: uuid.UUID
    network: Network
    published_at: datetime
    text: str
    labels: list[str]
    campaign: str | None
    impressions: int | None
    likes: int | None
    reposts: int | None
    replies: int | None
    quotes: int | None
    bookmarks: int | None
    clicks: int | None
    engagements: int | None
    collected_at: datetime | None


def _numbers_statement(latest: LatestSnapshot) -> Select[Any]:
    measured = case((latest.c.id.is_(None), None), else_=latest.engagements)
    return (
        _with_latest(
            select(
                Delivery.id.label("delivery_id"),
                Delivery.post_id,
                Delivery.account_id,
                SocialAccount.network,
                Delivery.published_at,
                Delivery.text,
                Post.labels,
                Post.campaign,
                *(getattr(latest.c, name).label(name) for name in METRICS),
                measured.label("engagements"),
                latest.c.collected_at,
            ),
            latest,
        )
        .join(SocialAccount, SocialAccount.id == Delivery.account_id)
        .join(Post, Post.id == Delivery.post_id)
    )


def _numbers(row: Any) -> DeliveryNumbers:
    return DeliveryNumbers(
        delivery_id=row.delivery_id,
        post_id=row.post_id,
        account_id=row.account_id,
        network=row.network,
        published_at=row.published_at,
        text=row.text,
        labels=list(row.labels or []),
        campaign=row.campaign,
        impressions=row.impressions,
        likes=row.likes,
        reposts=row.reposts,
        replies=row.replies,
        quotes=row.quotes,
        bookmarks=row.bookmarks,
        clicks=row.clicks,
        engagements=None if row.engagements is None else int(row.engagements),
        collected_at=row.collected_at,
    )


TOP_ORDER = ("engagements", "impressions", "likes", "reposts", "replies")


def _rank_by(latest: LatestSnapshot, by: str) -> ColumnElement[int]:
    if by == "engagements":
        return latest.engagements
    return func.coalesce(getattr(latest.c, by), 0)


async def top_deliveries(
    session: AsyncSession, window: Window, by: str, limit: int
) -> list[DeliveryNumbers]:
    """The window's best deliveries by `by` (a key of TOP_ORDER); unmeasured ones never rank."""
    latest = latest_snapshot(session)
    statement = (
        _numbers_statement(latest)
        .where(window.where(), latest.c.id.is_not(None))
        .order_by(_rank_by(latest, by).desc(), Delivery.published_at.desc())
        .limit(limit)
    )
    return [_numbers(row) for row in await session.execute(statement)]


async def delivery_numbers(session: AsyncSession, window: Window) -> list[DeliveryNumbers]:
    """Every published delivery of the window with its numbers (for grouping by label, hashtag
    and day, which need Python: JSON lists, text and local dates do not group portably in SQL)."""
    statement = (
        _numbers_statement(latest_snapshot(session))
        .where(window.where())
        .order_by(Delivery.published_at)
    )
    return [_numbers(row) for row in await session.execute(statement)]


async def deliveries_of_post(
    session: AsyncSession, workspace_id: uuid.UUID, post_id: uuid.UUID
) -> list[DeliveryNumbers]:
    statement = (
        _numbers_statement(latest_snapshot(session))
        .where(
            Delivery.workspace_id == workspace_id,
            Delivery.post_id == post_id,
            Delivery.state == DeliveryState.PUBLISHED,
        )
        .order_by(Delivery.published_at)
    )
    return [_numbers(row) for row in await session.execute(statement)]


@dataclass(frozen=True)
class EngagementSample:
    """A published delivery's engagements (the best-time history)."""

    account_id: uuid.UUID
    published_at: datetime
    engagements: int


async def engagement_history(
    session: AsyncSession, workspace_id: uuid.UUID, since: datetime, until: datetime
) -> list[EngagementSample]:
    """Measured published deliveries of the workspace in [since, until): when, and how well."""
    window = Window(workspace_id, since, until)
    latest = latest_snapshot(session)
    statement = (
        select(Delivery.account_id, Delivery.published_at, latest.engagements.label("engagements"))
        .select_from(Delivery)
        .join(latest.source, latest.on)
        .where(window.where())
    )
    return [
        EngagementSample(row.account_id, row.published_at, int(row.engagements))
        for row in await session.execute(statement)
    ]


@dataclass(frozen=True)
class SnapshotPoint:
    delivery_id: uuid.UUID
    collected_at: datetime
    impressions: int | None
    likes: int | None
    reposts: int | None
    replies: int | None
    engagements: int


async def snapshot_series(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> list[SnapshotPoint]:
    """Every snapshot of the deliveries, oldest first (reads the (delivery_id, collected_at) index)."""
    if not delivery_ids:
        return []
    snapshot = PostMetricSnapshot
    statement = (
        select(
            snapshot.delivery_id,
            snapshot.collected_at,
            snapshot.impressions,
            snapshot.likes,
            snapshot.reposts,
            snapshot.replies,
            engagements_of(snapshot).label("engagements"),
        )
        .where(snapshot.delivery_id.in_(delivery_ids))
        .order_by(snapshot.delivery_id, snapshot.collected_at)
    )
    return [
        SnapshotPoint(
            row.delivery_id,
            row.collected_at,
            row.impressions,
            row.likes,
            row.reposts,
            row.replies,
            int(row.engagements),
        )
        for row in await session.execute(statement)
    ]


async def recent_deliveries_of_account(
    session: AsyncSession, account_id: uuid.UUID, before: datetime, limit: int
) -> list[tuple[uuid.UUID, datetime]]:
    """The account's newest published deliveries before `before`: (id, published_at)."""
    statement = (
        select(Delivery.id, Delivery.published_at)
        .where(
            Delivery.account_id == account_id,
            Delivery.state == DeliveryState.PUBLISHED,
            Delivery.published_at < before,
        )
        .order_by(Delivery.published_at.desc())
        .limit(limit)
    )
    return [(row.id, row.published_at) for row in await session.execute(statement)]


@dataclass(frozen=True)
class Followers:
    """An account's followers at the end of a period and its growth during it (None: unknown)."""

    account_id: uuid.UUID
    followers: int | None
    growth: int | None


def _followers_before(moment: datetime, *, since: datetime | None = None) -> Any:
    stats = AccountStatsSnapshot
    statement = select(stats.followers).where(
        stats.account_id == SocialAccount.id,
        stats.followers.is_not(None),
        stats.collected_at < moment,
    )
    if since is not None:  # the first count inside the period instead of the last before it
        statement = statement.where(stats.collected_at >= since).order_by(stats.collected_at)
    else:
        statement = statement.order_by(stats.collected_at.desc())
    return statement.limit(1).correlate(SocialAccount).scalar_subquery()


async def followers(
    session: AsyncSession, workspace_id: uuid.UUID, start: datetime, end: datetime
) -> list[Followers]:
    """Per account: the last follower count before `end`, minus the last one before `start`
    (or, for an account first measured during the period, its first count in it)."""
    statement = select(
        SocialAccount.id,
        _followers_before(end).label("at_end"),
        _followers_before(start).label("at_start"),
        _followers_before(end, since=start).label("first_in_period"),
    ).where(SocialAccount.workspace_id == workspace_id)
    result = []
    for row in await session.execute(statement):
        baseline = row.at_start if row.at_start is not None else row.first_in_period
        growth = None if row.at_end is None or baseline is None else int(row.at_end) - int(baseline)
        result.append(Followers(row.id, row.at_end, growth))
    return result


async def accounts_of_workspace(
    session: AsyncSession, workspace_id: uuid.UUID
) -> list[SocialAccount]:
    statement = (
        select(SocialAccount)
        .where(SocialAccount.workspace_id == workspace_id)
        .order_by(SocialAccount.display_name)
    )
    return list(await session.scalars(statement))

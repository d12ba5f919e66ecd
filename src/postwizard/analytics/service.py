"""Analytics rules: periods, comparisons, grouping, the post's curve and the best time."""

from __future__ import annotations

import re
import statistics
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.models import SocialAccount
from postwizard.analytics import best_time, queries, schemas
from postwizard.analytics.queries import DeliveryNumbers, Totals, Window
from postwizard.errors import NotFound, PostWizardError
from postwizard.platforms.networks import Network
from postwizard.posts.models import Post
from postwizard.scheduling.slots import PostingSlot
from postwizard.scheduling.timezones import local_to_utc, utc_to_local, validate_timezone

MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD = "30d"
PERIOD_PATTERN = re.compile(r"^(\d{1,3})d$")
HASHTAG = re.compile(r"(?<![\w&])#(\w{1,100})")
CHECKPOINT_HOURS = (1, 3, 6, 12, 24, 72, 168)
MEDIAN_OF_LAST_POSTS = 50
BEST_TIME_DAYS = 180
NEXT_SLOTS = 5
NEXT_SLOTS_WITHIN = timedelta(days=7)
TEXT_EXCERPT = 140

ProvidesMetrics = Callable[[Network], bool | None]


def invalid(field: str, message: str) -> PostWizardError:
    """A 422 naming the query parameter that is wrong."""
    return PostWizardError(
        f"`{field}`: {message}",
        code=f"invalid_{field}",
        status_code=422,
        fields=[{"field": field, "message": message}],
    )


def zone_of(name: str, field: str = "timezone") -> ZoneInfo:
    try:
        return validate_timezone(name)
    except ValueError as error:
        raise invalid(field, str(error)) from None


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime
    timezone: str
    zone: ZoneInfo
    days: int

    @property
    def previous_start(self) -> datetime:
        return self.start - (self.end - self.start)

    def window(self, workspace_id: uuid.UUID) -> Window:
        return Window(workspace_id, self.start, self.end)

    def previous_window(self, workspace_id: uuid.UUID) -> Window:
        return Window(workspace_id, self.previous_start, self.start)

    def view(self) -> schemas.PeriodView:
        return schemas.PeriodView(
            start=self.start,
            end=self.end,
            previous_start=self.previous_start,
            previous_end=self.start,
            timezone=self.timezone,
            days=self.days,
        )


def resolve_period(
    period: str | None, start: date | None, end: date | None, timezone: str, now: datetime
) -> Period:
    """Local days in `timezone`: the last N days including today (`period=Nd`), or the days
    `start` to `end` inclusive. Each day is midnight to midnight in the zone."""
    zone = zone_of(timezone)
    if start is not None or end is not None:
        if period is not None:
            raise invalid("period", "give either `period` or `start` and `end`, not both")
        if start is None or end is None:
            raise invalid("start" if start is None else "end", "give both `start` and `end`")
        if end < start:
            raise invalid("end", "must be on or after `start`")
        first, last = start, end
    else:
        match = PERIOD_PATTERN.match(period or DEFAULT_PERIOD)
        if match is None:
            raise invalid("period", "a number of days like 7d, 30d or 90d")
        count = int(match.group(1))
        if count < 1:
            raise invalid("period", "at least 1d")
        last = utc_to_local(now, zone).date()
        first = last - timedelta(days=count - 1)
    days = (last - first).days + 1
    if days > MAX_PERIOD_DAYS:
        raise invalid("period" if start is None else "end", f"at most {MAX_PERIOD_DAYS} days")
    return Period(
        start=_midnight(first, zone),
        end=_midnight(last + timedelta(days=1), zone),
        timezone=timezone,
        zone=zone,
        days=days,
    )


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return local_to_utc(datetime.combine(day, time()), zone)


def _change(current: float | None, previous: float | None) -> tuple[float | None, float | None]:
    if current is None or previous is None:
        return None, None
    change = current - previous
    return change, (change / previous * 100 if previous else None)


def _metric(name: str, current: float | None, previous: float | None) -> schemas.OverviewMetric:
    change, percent = _change(current, previous)
    return schemas.OverviewMetric(
        name=name, current=current, previous=previous, change=change, change_percent=percent
    )


def _growth(rows: Iterable[queries.Followers]) -> int | None:
    known = [r.growth for r in rows if r.growth is not None]
    return sum(known) if known else None


async def overview(
    session: AsyncSession, workspace_id: uuid.UUID, period: Period
) -> schemas.Overview:
    """The period's totals next to the previous period's (same length, right before it)."""
    current = await queries.totals(session, period.window(workspace_id))
    previous = await queries.totals(session, period.previous_window(workspace_id))
    now_followers = await queries.followers(session, workspace_id, period.start, period.end)
    before_followers = await queries.followers(
        session, workspace_id, period.previous_start, period.start
    )
    counts = [r.followers for r in now_followers if r.followers is not None]
    return schemas.Overview(
        period=period.view(),
        metrics=[
            _metric("posts", current.posts, previous.posts),
            _metric("deliveries", current.deliveries, previous.deliveries),
            _metric("impressions", current.impressions, previous.impressions),
            _metric("engagements", current.engagements, previous.engagements),
            _metric("engagement_rate", current.engagement_rate, previous.engagement_rate),
            _metric("follower_growth", _growth(now_followers), _growth(before_followers)),
        ],
        followers=sum(counts) if counts else None,
        measured_deliveries=current.measured,
    )


async def daily(session: AsyncSession, workspace_id: uuid.UUID, period: Period) -> schemas.Daily:
    """Per local day of publication: posts, and their impressions and engagements so far."""
    numbers = await queries.delivery_numbers(session, period.window(workspace_id))
    days: dict[date, tuple[set[uuid.UUID], int, int]] = {}
    first = utc_to_local(period.start, period.zone).date()
    for offset in range(period.days):
        days[first + timedelta(days=offset)] = (set(), 0, 0)
    for item in numbers:
        day = utc_to_local(item.published_at, period.zone).date()
        posts, impressions, engagements = days.setdefault(day, (set(), 0, 0))
        posts.add(item.post_id)
        days[day] = (
            posts,
            impressions + (item.impressions or 0),
            engagements + (item.engagements or 0),
        )
    return schemas.Daily(
        period=period.view(),
        items=[
            schemas.DailyPoint(day=day, posts=len(p), impressions=i, engagements=e)
            for day, (p, i, e) in sorted(days.items())
        ],
    )


async def by_account(
    session: AsyncSession, workspace_id: uuid.UUID, period: Period, provides: ProvidesMetrics
) -> schemas.AccountTable:
    accounts = await queries.accounts_of_workspace(session, workspace_id)
    totals = await queries.totals_by_account(session, period.window(workspace_id))
    followers = {
        f.account_id: f
        for f in await queries.followers(session, workspace_id, period.start, period.end)
    }
    rows = []
    for account in accounts:
        total = totals.get(account.id, Totals())
        follower = followers.get(account.id)
        rows.append(
            schemas.AccountRow(
                account_id=account.id,
                display_name=account.display_name,
                handle=account.handle,
                network=account.network,
                provides_metrics=provides(account.network) is not False,
                posts=total.posts,
                impressions=total.impressions,
                engagements=total.engagements,
                engagement_rate=total.engagement_rate,
                followers=follower.followers if follower else None,
                follower_growth=follower.growth if follower else None,
            )
        )
    return schemas.AccountTable(period=period.view(), items=rows)


async def by_network(
    session: AsyncSession, workspace_id: uuid.UUID, period: Period, provides: ProvidesMetrics
) -> schemas.NetworkTable:
    """Every network the workspace has an account on, best engagements first."""
    accounts = await queries.accounts_of_workspace(session, workspace_id)
    account_counts: dict[Network, int] = defaultdict(int)
    for account in accounts:
        account_counts[account.network] += 1
    totals = await queries.totals_by_network(session, period.window(workspace_id))
    rows = []
    for network in sorted(set(account_counts) | set(totals)):
        total = totals.get(network, Totals())
        rows.append(
            schemas.NetworkRow(
                network=network,
                label=network.label,
                provides_metrics=provides(network) is not False,
                accounts=account_counts.get(network, 0),
                posts=total.posts,
                impressions=total.impressions,
                engagements=total.engagements,
                engagement_rate=total.engagement_rate,
                engagements_per_post=total.engagements / total.deliveries
                if total.deliveries
                else None,
            )
        )
    rows.sort(key=lambda r: (-r.engagements, r.label))
    return schemas.NetworkTable(period=period.view(), items=rows)


def _rate(engagements: int | None, impressions: int | None) -> float | None:
    return (engagements or 0) / impressions if impressions else None


def _excerpt(text: str) -> str:
    return text if len(text) <= TEXT_EXCERPT else text[: TEXT_EXCERPT - 1] + "…"


async def top_posts(
    session: AsyncSession, workspace_id: uuid.UUID, period: Period, by: str, limit: int
) -> schemas.TopPosts:
    rows = await queries.top_deliveries(session, period.window(workspace_id), by, limit)
    names = {
        a.id: a.display_name for a in await queries.accounts_of_workspace(session, workspace_id)
    }
    return schemas.TopPosts(
        period=period.view(),
        by=by,
        items=[
            schemas.TopPost(
                delivery_id=r.delivery_id,
                post_id=r.post_id,
                account_id=r.account_id,
                account_name=names.get(r.account_id, "(disconnected)"),
                network=r.network,
                published_at=r.published_at,
                text=_excerpt(r.text),
                impressions=r.impressions,
                likes=r.likes,
                reposts=r.reposts,
                replies=r.replies,
                engagements=r.engagements or 0,
                engagement_rate=_rate(r.engagements, r.impressions),
            )
            for r in rows
        ],
    )


def hashtags_of(text: str) -> set[str]:
    """#Tags in the text, lower-cased (so #Bread and #bread are one)."""
    return {tag.lower() for tag in HASHTAG.findall(text)}


GROUPERS: dict[str, Callable[[DeliveryNumbers], Iterable[str]]] = {
    "label": lambda d: set(d.labels),
    "campaign": lambda d: [d.campaign] if d.campaign else [],
    "hashtag": lambda d: hashtags_of(d.text),
}


def group_rows(numbers: Iterable[DeliveryNumbers], group: str) -> list[schemas.GroupRow]:
    """Sum deliveries per key; a delivery with two labels counts in both."""
    keys_of = GROUPERS[group]
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # deliveries, imp, eng, rated
    posts: dict[str, set[uuid.UUID]] = defaultdict(set)
    for item in numbers:
        for key in keys_of(item):
            total = sums[key]
            total[0] += 1
            total[1] += item.impressions or 0
            total[2] += item.engagements or 0
            total[3] += (item.engagements or 0) if item.impressions else 0
            posts[key].add(item.post_id)
    rows = [
        schemas.GroupRow(
            key=key,
            posts=len(posts[key]),
            impressions=impressions,
            engagements=engagements,
            engagement_rate=rated / impressions if impressions else None,
            engagements_per_post=engagements / deliveries if deliveries else None,
        )
        for key, (deliveries, impressions, engagements, rated) in sums.items()
    ]
    rows.sort(key=lambda r: (-r.engagements, r.key))
    return rows


async def by_group(
    session: AsyncSession, workspace_id: uuid.UUID, period: Period, group: str
) -> schemas.GroupTable:
    numbers = await queries.delivery_numbers(session, period.window(workspace_id))
    return schemas.GroupTable(period=period.view(), group=group, items=group_rows(numbers, group))


def _engagements_at(points: list[queries.SnapshotPoint], moment: datetime) -> int | None:
    """The newest engagements measured at or before `moment` (0 before the first snapshot)."""
    value: int | None = 0
    for point in points:
        if point.collected_at > moment:
            break
        value = point.engagements
    return value


async def _checkpoints(
    session: AsyncSession,
    delivery: DeliveryNumbers,
    series: list[queries.SnapshotPoint],
    now: datetime,
) -> list[schemas.Checkpoint]:
    """This delivery's engagements at each age next to the median of the account's recent posts
    (up to MEDIAN_OF_LAST_POSTS published before it) at the same age."""
    others = await queries.recent_deliveries_of_account(
        session, delivery.account_id, delivery.published_at, MEDIAN_OF_LAST_POSTS
    )
    points: dict[uuid.UUID, list[queries.SnapshotPoint]] = defaultdict(list)
    for point in await queries.snapshot_series(session, [d for d, _ in others]):
        points[point.delivery_id].append(point)
    result = []
    for hours in CHECKPOINT_HOURS:
        age = timedelta(hours=hours)
        values = [
            v
            for other_id, published_at in others
            if published_at + age <= now
            and (v := _engagements_at(points.get(other_id, []), published_at + age)) is not None
        ]
        mine = (
            _engagements_at(series, delivery.published_at + age)
            if delivery.published_at + age <= now
            else None
        )
        result.append(
            schemas.Checkpoint(
                hours=hours,
                this_post=mine,
                account_median=float(statistics.median(values)) if values else None,
                posts_compared=len(values),
            )
        )
    return result


async def post_analytics(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    post_id: uuid.UUID,
    provides: ProvidesMetrics,
    now: datetime,
) -> schemas.PostAnalytics:
    """Each published delivery of the post: its numbers now, its curve since publishing, and
    how it compares with the account's median post at the same ages."""
    post = await session.get(Post, post_id)
    if post is None or post.workspace_id != workspace_id:
        raise NotFound("No such post in this workspace.")
    deliveries = await queries.deliveries_of_post(session, workspace_id, post_id)
    series: dict[uuid.UUID, list[queries.SnapshotPoint]] = defaultdict(list)
    for point in await queries.snapshot_series(session, [d.delivery_id for d in deliveries]):
        series[point.delivery_id].append(point)
    accounts = {a.id: a for a in await queries.accounts_of_workspace(session, workspace_id)}
    views = []
    for delivery in deliveries:
        account: SocialAccount | None = accounts.get(delivery.account_id)
        own = series.get(delivery.delivery_id, [])
        views.append(
            schemas.DeliveryAnalytics(
                delivery_id=delivery.delivery_id,
                account_id=delivery.account_id,
                account_name=account.display_name if account else "(disconnected)",
                network=delivery.network,
                provides_metrics=provides(delivery.network) is not False,
                published_at=delivery.published_at,
                current=schemas.CurrentNumbers(
                    impressions=delivery.impressions,
                    likes=delivery.likes,
                    reposts=delivery.reposts,
                    replies=delivery.replies,
                    quotes=delivery.quotes,
                    bookmarks=delivery.bookmarks,
                    clicks=delivery.clicks,
                    engagements=delivery.engagements,
                    collected_at=delivery.collected_at,
                ),
                series=[
                    schemas.SeriesPoint(
                        hours_since_published=round(
                            (p.collected_at - delivery.published_at).total_seconds() / 3600, 3
                        ),
                        collected_at=p.collected_at,
                        impressions=p.impressions,
                        likes=p.likes,
                        reposts=p.reposts,
                        replies=p.replies,
                        engagements=p.engagements,
                    )
                    for p in own
                ],
                checkpoints=await _checkpoints(session, delivery, own, now),
            )
        )
    return schemas.PostAnalytics(post_id=post_id, deliveries=views)


async def workspace_heatmap(
    session: AsyncSession, workspace_id: uuid.UUID, zone_name: str, days: int, now: datetime
) -> best_time.Heatmap:
    """The best-time heatmap of the workspace's last `days` days of posts, in `zone_name`."""
    history = await queries.engagement_history(
        session, workspace_id, now - timedelta(days=days), now
    )
    return best_time.heatmap(history, zone_name, zone_of(zone_name))


async def best_time_view(
    session: AsyncSession, workspace_id: uuid.UUID, zone_name: str, days: int, now: datetime
) -> schemas.BestTime:
    zone = zone_of(zone_name)
    heatmap = await workspace_heatmap(session, workspace_id, zone_name, days, now)
    slots = best_time.next_best_slots(heatmap, zone, now, NEXT_SLOTS, NEXT_SLOTS_WITHIN)
    return schemas.BestTime(
        timezone=zone_name,
        days=days,
        posts_used=heatmap.posts_used,
        cells=[
            schemas.HeatCell(
                weekday=c.weekday,
                hour=c.hour,
                posts=c.posts,
                observed=None if c.observed is None else round(c.observed, 4),
                score=round(c.score, 4),
            )
            for c in heatmap.cells
        ],
        next_slots=[
            schemas.SlotView(at=s.at, weekday=s.weekday, hour=s.hour, score=round(s.score, 4))
            for s in slots
        ],
    )


BEST_SLOTS_PER_WEEK = 7


async def best_posting_slots(
    session: AsyncSession, workspace_id: uuid.UUID, zone_names: Iterable[str], now: datetime
) -> dict[str, list[PostingSlot]]:
    """Per zone, the week's best hours to post as posting slots ("add to queue" at the best
    times): the same history and heatmap as `best_time_view`, one per account zone."""
    history = await queries.engagement_history(
        session, workspace_id, now - timedelta(days=BEST_TIME_DAYS), now
    )
    return {
        name: best_time.heatmap(history, name, zone_of(name)).best_slots(BEST_SLOTS_PER_WEEK)
        for name in set(zone_names)
    }

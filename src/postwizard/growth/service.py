"""Growth rules: goal progress and forecasts, challenge evaluation, streaks and badges.

Nothing here is stored as progress: every read recomputes from published deliveries (only the
`published` state counts) and metric snapshots, so cancelling or failing a delivery, or new
numbers arriving, shows up on the next read."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.analytics.service import invalid, zone_of
from postwizard.errors import NotFound
from postwizard.growth import repository, schemas
from postwizard.growth.models import GoalMetric, GrowthChallenge, GrowthGoal
from postwizard.growth.repository import Published
from postwizard.growth.rules import CountRule, DeliveryFilters, MetricRule, parse_rule
from postwizard.scheduling.timezones import local_to_utc, utc_to_local

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
MAX_CHALLENGE_DAYS = 366
FREEZES_PER_MONTH = 2


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant a local day starts (DST-safe: days may be 23 or 25 hours long)."""
    return local_to_utc(datetime.combine(day, time()), zone)


def local_day(moment: datetime, zone: ZoneInfo) -> date:
    return utc_to_local(moment, zone).date()


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


# ---------------------------------------------------------------- goals


async def create_goal(
    session: AsyncSession, workspace_id: uuid.UUID, body: schemas.GoalCreate, now: datetime
) -> schemas.Goal:
    zone = zone_of(body.timezone)
    today = local_day(now, zone)
    start = body.start or today
    if start > today:
        raise invalid("start", "cannot be in the future; progress counts from a past day")
    if body.deadline < today or body.deadline < start:
        raise invalid("deadline", "must be today or later, and not before `start`")
    if body.metric == GoalMetric.ENGAGEMENT_RATE and body.target > 1:
        raise invalid("target", "an engagement rate is a fraction: 0.05 means 5%")
    if body.account_id is not None and not await repository.account_in_workspace(
        session, workspace_id, body.account_id
    ):
        raise invalid("account_id", "no such account in this workspace")
    goal = GrowthGoal(
        workspace_id=workspace_id,
        account_id=body.account_id,
        metric=body.metric,
        target=body.target,
        title=body.title or _goal_title(body.metric, body.target, body.deadline),
        timezone=body.timezone,
        starts_at=local_midnight(start, zone),
        deadline_at=local_midnight(body.deadline + DAY, zone),
    )
    session.add(goal)
    await session.flush()
    return await evaluate_goal(session, goal, now)


def _goal_title(metric: GoalMetric, target: float, deadline: date) -> str:
    match metric:
        case GoalMetric.FOLLOWERS:
            what = f"{target:g} followers"
        case GoalMetric.ENGAGEMENT_RATE:
            what = f"{target * 100:g}% engagement rate"
        case GoalMetric.POSTS_PER_WEEK:
            what = f"{target:g} posts a week"
    return f"{what} by {deadline.isoformat()}"


async def list_goals(
    session: AsyncSession, workspace_id: uuid.UUID, now: datetime
) -> list[schemas.Goal]:
    return [
        await evaluate_goal(session, goal, now)
        for goal in await repository.goals(session, workspace_id)
    ]


async def delete_goal(session: AsyncSession, workspace_id: uuid.UUID, goal_id: uuid.UUID) -> None:
    goal = await session.get(GrowthGoal, goal_id)
    if goal is None or goal.workspace_id != workspace_id:
        raise NotFound("No such goal in this workspace.")
    await session.delete(goal)
    await session.flush()


@dataclass(frozen=True)
class _Measure:
    baseline: float | None
    current: float | None
    forecast: float | None
    cumulative: bool  # followers only grow towards the target; rates and paces hold or not


async def evaluate_goal(session: AsyncSession, goal: GrowthGoal, now: datetime) -> schemas.Goal:
    """The goal's value now, where it is heading by the deadline, and whether that suffices."""
    end = min(now, goal.deadline_at)
    if goal.metric == GoalMetric.FOLLOWERS:
        measure = await _followers_measure(session, goal, now, end)
    else:
        items = [
            item
            for item in await repository.published(session, goal.workspace_id, goal.starts_at, end)
            if goal.account_id is None or item.account_id == goal.account_id
        ]
        if goal.metric == GoalMetric.ENGAGEMENT_RATE:
            rate = _engagement_rate(items)
            measure = _Measure(None, rate, rate, cumulative=False)
        else:
            weeks = max(1.0, (end - goal.starts_at) / WEEK)
            pace = len({item.post_id for item in items}) / weeks
            measure = _Measure(None, pace, pace, cumulative=False)
    return schemas.Goal(
        id=goal.id,
        title=goal.title,
        metric=goal.metric,
        target=goal.target,
        account_id=goal.account_id,
        timezone=goal.timezone,
        starts_at=goal.starts_at,
        deadline_at=goal.deadline_at,
        baseline=measure.baseline,
        current=measure.current,
        forecast=measure.forecast,
        progress=_goal_progress(goal.target, measure),
        status=_goal_status(goal, measure, now),
    )


def _goal_progress(target: float, measure: _Measure) -> float:
    if measure.current is None:
        return 0.0
    if measure.baseline is not None:
        if target <= measure.baseline:
            return 1.0
        return _clamp((measure.current - measure.baseline) / (target - measure.baseline))
    return _clamp(measure.current / target)


def _goal_status(goal: GrowthGoal, measure: _Measure, now: datetime) -> schemas.GoalStatus:
    met = measure.current is not None and measure.current >= goal.target
    if now >= goal.deadline_at:
        return "reached" if met else "missed"
    if met and measure.cumulative:
        return "reached"
    heading = measure.forecast is not None and measure.forecast >= goal.target
    return "on_track" if heading else "at_risk"


async def _followers_measure(
    session: AsyncSession, goal: GrowthGoal, now: datetime, end: datetime
) -> _Measure:
    if goal.account_id is not None:
        accounts = [goal.account_id]
    else:
        accounts = await repository.account_ids_of_workspace(session, goal.workspace_id)
    counts = await repository.follower_counts(session, accounts, goal.starts_at)
    if not counts:
        return _Measure(None, None, None, cumulative=True)
    by_account: dict[uuid.UUID, list[repository.FollowerCount]] = defaultdict(list)
    for count in counts:
        by_account[count.account_id].append(count)
    baseline = current = 0
    for series in by_account.values():
        # The count in force when the goal started (or the first one after, for new accounts).
        at_start = [c for c in series if c.collected_at <= goal.starts_at] or series[:1]
        baseline += at_start[-1].followers
        until_end = [c for c in series if c.collected_at <= end] or series[:1]
        current += until_end[-1].followers
    measured_since = max(goal.starts_at, counts[0].collected_at)
    elapsed_days = max((end - measured_since) / DAY, 1.0)
    pace = (current - baseline) / elapsed_days
    remaining_days = max((goal.deadline_at - now) / DAY, 0.0)
    return _Measure(baseline, current, current + pace * remaining_days, cumulative=True)


def _engagement_rate(items: Sequence[Published]) -> float | None:
    """Engagements per impression, over the deliveries whose network reports impressions."""
    rated = [item for item in items if item.impressions]
    impressions = sum(item.impressions or 0 for item in rated)
    if not impressions:
        return None
    return sum(item.engagements or 0 for item in rated) / impressions


# ---------------------------------------------------------------- challenges

TEMPLATES: dict[schemas.TemplateKey, tuple[str, str]] = {
    "daily_30": ("Post every day for 30 days", "At least one post on each of 30 days in a row."),
    "images_3_week": ("3 posts with images this week", "Publish 3 posts that carry an image."),
    "networks_3_week": (
        "Publish on 3 networks this week",
        "Reach your audience on 3 different networks.",
    ),
    "best_rate_month": (
        "Beat your best engagement rate this month",
        "Do better than your best month of the last year.",
    ),
}


def templates() -> list[schemas.ChallengeTemplate]:
    return [
        schemas.ChallengeTemplate(key=key, title=title, description=description)
        for key, (title, description) in TEMPLATES.items()
    ]


async def create_challenge(
    session: AsyncSession, workspace_id: uuid.UUID, body: schemas.ChallengeCreate, now: datetime
) -> schemas.Challenge:
    zone = zone_of(body.timezone)
    today = local_day(now, zone)
    if body.template is not None and body.rule is not None:
        raise invalid("rule", "give either `template` or `rule`, not both")
    if body.template is None and body.rule is None:
        raise invalid("template", "give a built-in `template` or a custom `rule`")
    if body.template is not None:
        first, last, rule = await _from_template(session, workspace_id, body.template, today, zone)
        title = body.title or TEMPLATES[body.template][0]
    else:
        assert body.rule is not None
        rule = body.rule
        first = body.starts_on or today
        last = body.ends_on or first + timedelta(days=6)
        if last < first:
            raise invalid("ends_on", "must be on or after `starts_on`")
        if (last - first).days + 1 > MAX_CHALLENGE_DAYS:
            raise invalid("ends_on", f"a challenge lasts at most {MAX_CHALLENGE_DAYS} days")
        if last < today:
            raise invalid("ends_on", "the challenge would already be over")
        title = body.title or "Custom challenge"
    challenge = GrowthChallenge(
        workspace_id=workspace_id,
        template=body.template,
        title=title,
        rule=rule.model_dump(mode="json"),
        timezone=body.timezone,
        starts_at=local_midnight(first, zone),
        ends_at=local_midnight(last + DAY, zone),
    )
    session.add(challenge)
    await session.flush()
    return await evaluate_challenge(session, challenge, now)


async def _from_template(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    key: schemas.TemplateKey,
    today: date,
    zone: ZoneInfo,
) -> tuple[date, date, CountRule | MetricRule]:
    monday = today - timedelta(days=today.weekday())
    match key:
        case "daily_30":
            return (
                today,
                today + timedelta(days=29),
                CountRule(type="count", target=30, distinct="day"),
            )
        case "images_3_week":
            rule = CountRule(
                type="count", target=3, distinct="post", filters=DeliveryFilters(has_image=True)
            )
            return monday, monday + timedelta(days=6), rule
        case "networks_3_week":
            return (
                monday,
                monday + timedelta(days=6),
                CountRule(type="count", target=3, distinct="network"),
            )
        case "best_rate_month":
            first = today.replace(day=1)
            next_month = (first + timedelta(days=32)).replace(day=1)
            best = await _best_monthly_rate(session, workspace_id, first, zone)
            rule_metric = MetricRule(
                type="metric", metric="engagement_rate", threshold=best, strictly_above=True
            )
            return first, next_month - DAY, rule_metric


async def _best_monthly_rate(
    session: AsyncSession, workspace_id: uuid.UUID, month: date, zone: ZoneInfo
) -> float:
    """The best engagement rate of the 12 local months before `month` (0 without data)."""
    year_before = month.replace(year=month.year - 1)
    items = await repository.published(
        session, workspace_id, local_midnight(year_before, zone), local_midnight(month, zone)
    )
    by_month: dict[tuple[int, int], list[Published]] = defaultdict(list)
    for item in items:
        day = local_day(item.published_at, zone)
        by_month[(day.year, day.month)].append(item)
    rates = [_engagement_rate(group) for group in by_month.values()]
    return max((rate for rate in rates if rate is not None), default=0.0)


async def list_challenges(
    session: AsyncSession, workspace_id: uuid.UUID, now: datetime
) -> list[schemas.Challenge]:
    return [
        await evaluate_challenge(session, challenge, now)
        for challenge in await repository.challenges(session, workspace_id)
    ]


async def delete_challenge(
    session: AsyncSession, workspace_id: uuid.UUID, challenge_id: uuid.UUID
) -> None:
    challenge = await session.get(GrowthChallenge, challenge_id)
    if challenge is None or challenge.workspace_id != workspace_id:
        raise NotFound("No such challenge in this workspace.")
    await session.delete(challenge)
    await session.flush()


def _matches(item: Published, filters: DeliveryFilters) -> bool:
    return (
        (not filters.networks or item.network in filters.networks)
        and (not filters.account_ids or item.account_id in filters.account_ids)
        and (filters.has_media is None or item.has_media == filters.has_media)
        and (filters.has_image is None or item.has_image == filters.has_image)
        and (filters.label is None or filters.label.casefold() in _folded(item.labels))
    )


def _folded(labels: list[str]) -> set[str]:
    return {label.casefold() for label in labels}


async def evaluate_challenge(
    session: AsyncSession, challenge: GrowthChallenge, now: datetime
) -> schemas.Challenge:
    zone = zone_of(challenge.timezone)
    rule = parse_rule(challenge.rule)
    items = [
        item
        for item in await repository.published(
            session, challenge.workspace_id, challenge.starts_at, challenge.ends_at
        )
        if _matches(item, rule.filters)
    ]
    completed_at: datetime | None = None
    if isinstance(rule, CountRule):
        key = _distinct_key(rule, zone)
        seen: set[Hashable] = set()
        for item in items:
            seen.add(key(item))
            if completed_at is None and len(seen) >= rule.target:
                completed_at = item.published_at
        current: float | None = len(seen)
        target = float(rule.target)
        progress = _clamp(len(seen) / rule.target)
    else:
        current = _metric_value(rule, items)
        target = rule.threshold
        met = current is not None and (
            current > target if rule.strictly_above else current >= target
        )
        if met and now >= challenge.ends_at:
            completed_at = challenge.ends_at
        if current is None:
            progress = 0.0
        else:
            progress = 1.0 if met else (_clamp(current / target) if target else 0.0)
    status: schemas.ChallengeStatus
    if now < challenge.starts_at:
        status = "upcoming"
    elif completed_at is not None:
        status = "completed"
    elif now >= challenge.ends_at:
        status = "failed"
    else:
        status = "active"
    return schemas.Challenge(
        id=challenge.id,
        title=challenge.title,
        template=challenge.template,
        rule=challenge.rule,
        timezone=challenge.timezone,
        starts_at=challenge.starts_at,
        ends_at=challenge.ends_at,
        status=status,
        current=current,
        target=target,
        progress=progress,
        completed_at=completed_at,
    )


def _distinct_key(rule: CountRule, zone: ZoneInfo) -> Callable[[Published], Hashable]:
    match rule.distinct:
        case "delivery":
            return lambda item: item.delivery_id
        case "post":
            return lambda item: item.post_id
        case "day":
            return lambda item: local_day(item.published_at, zone)
        case "network":
            return lambda item: item.network
        case "account":
            return lambda item: item.account_id


def _metric_value(rule: MetricRule, items: Sequence[Published]) -> float | None:
    if rule.metric == "engagement_rate":
        return _engagement_rate(items)
    if rule.metric == "engagements":
        return float(sum(item.engagements or 0 for item in items))
    return float(sum(item.impressions or 0 for item in items))


# ---------------------------------------------------------------- streaks


@dataclass(frozen=True)
class _Streaks:
    daily_current: int
    daily_longest: int
    daily_longest_reached: dict[int, date]  # length -> the local day a run first reached it
    weekly_current: int
    weekly_longest: int
    posts_by_day: dict[date, int]


def _compute_streaks(times: Sequence[datetime], frozen: set[date], today: date) -> _Streaks:
    posts_by_day: dict[date, int] = defaultdict(int)
    for moment_day in times:
        posts_by_day[moment_day.date()] += 1
    days = {day for day in posts_by_day if day <= today}
    reached: dict[int, date] = {}
    longest = run = 0
    if days:
        day = min(days)
        while day <= today:
            if day in days:
                run += 1
                reached.setdefault(run, day)
                longest = max(longest, run)
            elif day not in frozen and day != today:  # today is still open
                run = 0
            day += DAY
    current = 0
    day = today
    earliest = min(days | frozen, default=today)
    while day >= earliest:
        if day in days:
            current += 1
        elif day not in frozen and day != today:
            break
        day -= DAY
    weeks = {day - timedelta(days=day.weekday()) for day in days}
    this_monday = today - timedelta(days=today.weekday())
    weekly_current = 0
    week = this_monday if this_monday in weeks else this_monday - WEEK
    while week in weeks:
        weekly_current += 1
        week -= WEEK
    weekly_longest = 0
    for start in weeks:
        if start - WEEK not in weeks:
            length = 1
            while start + WEEK * length in weeks:
                length += 1
            weekly_longest = max(weekly_longest, length)
    return _Streaks(current, longest, reached, weekly_current, weekly_longest, posts_by_day)


async def _streaks_of(
    session: AsyncSession, workspace_id: uuid.UUID, zone: ZoneInfo, now: datetime
) -> tuple[_Streaks, set[date]]:
    times = await repository.published_times(session, workspace_id)
    frozen = await repository.freeze_days(session, workspace_id)
    local_times = [utc_to_local(moment, zone) for moment in times]
    return _compute_streaks(local_times, frozen, local_day(now, zone)), frozen


async def streaks(
    session: AsyncSession, workspace_id: uuid.UUID, timezone: str, days: int, now: datetime
) -> schemas.Streaks:
    """Daily and weekly posting streaks counted in the local days of `timezone`."""
    zone = zone_of(timezone)
    computed, frozen = await _streaks_of(session, workspace_id, zone, now)
    today = local_day(now, zone)
    calendar = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    return schemas.Streaks(
        timezone=timezone,
        daily_current=computed.daily_current,
        daily_longest=computed.daily_longest,
        weekly_current=computed.weekly_current,
        weekly_longest=computed.weekly_longest,
        days=[
            schemas.StreakDay(
                day=day, posts=computed.posts_by_day.get(day, 0), frozen=day in frozen
            )
            for day in calendar
        ],
        freeze_days=sorted(frozen),
    )


async def freeze_day(session: AsyncSession, workspace_id: uuid.UUID, day: date) -> None:
    """Mark a local day (a holiday) as not breaking the daily streak: at most 2 a month."""
    frozen = await repository.freeze_days(session, workspace_id)
    same_month = [d for d in frozen if (d.year, d.month) == (day.year, day.month) and d != day]
    if len(same_month) >= FREEZES_PER_MONTH:
        raise invalid("day", f"at most {FREEZES_PER_MONTH} freeze days a month")
    await repository.add_freeze_day(session, workspace_id, day)


async def unfreeze_day(session: AsyncSession, workspace_id: uuid.UUID, day: date) -> None:
    await repository.remove_freeze_day(session, workspace_id, day)


# ---------------------------------------------------------------- badges


async def badges(
    session: AsyncSession, workspace_id: uuid.UUID, timezone: str, now: datetime
) -> list[schemas.Badge]:
    """Milestones, each earned (with when, where known) or still ahead."""
    zone = zone_of(timezone)
    times = sorted(await repository.published_times(session, workspace_id))
    computed, _ = await _streaks_of(session, workspace_id, zone, now)
    challenges = await list_challenges(session, workspace_id, now)
    goals = await list_goals(session, workspace_id, now)

    def nth(count: int) -> datetime | None:
        return times[count - 1] if len(times) >= count else None

    def streak_day(length: int) -> datetime | None:
        day = computed.daily_longest_reached.get(length)
        return None if day is None else local_midnight(day, zone)

    completed = [c.completed_at for c in challenges if c.completed_at is not None]
    earned: list[tuple[str, str, str, datetime | None, bool]] = [
        ("first_post", "First post", "Published your first post.", nth(1), False),
        ("posts_10", "10 posts", "Published 10 times (each network counts).", nth(10), False),
        ("posts_100", "100 posts", "Published 100 times (each network counts).", nth(100), False),
        ("streak_7", "One week streak", "Posted 7 days in a row.", streak_day(7), False),
        ("streak_30", "One month streak", "Posted 30 days in a row.", streak_day(30), False),
        (
            "weekly_4",
            "Four steady weeks",
            "Posted in 4 weeks in a row.",
            None,
            computed.weekly_longest >= 4,
        ),
        (
            "challenge_completed",
            "Challenger",
            "Completed a challenge.",
            min(completed, default=None),
            False,
        ),
        (
            "goal_reached",
            "Goal getter",
            "Reached a goal.",
            None,
            any(goal.status == "reached" for goal in goals),
        ),
    ]
    return [
        schemas.Badge(
            key=key,
            title=title,
            description=description,
            earned=when is not None or flag,
            earned_at=when,
        )
        for key, title, description, when, flag in earned
    ]

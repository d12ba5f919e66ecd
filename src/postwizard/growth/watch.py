"""The growth watcher: tells people when a goal is reached or at risk, a challenge is completed,
or a posting streak is about to break.

It judges with the growth service's own rules (the same numbers the growth page shows) and
records each finding through the notification service under a dedup key, so a fact is told
once however often it is judged and however many workers judge it (the first write wins):

* `goal.reached`: once per goal.
* `goal.at_risk`: at most once per goal per week (Monday to Sunday in the goal's time zone)
  while it stays at risk; judged only once the goal has run for a day and has numbers.
* `challenge.completed`: once per challenge (a challenge is one window).
* `streak.at_risk`: once per local day per workspace, from the reminder hour on, when the daily
  streak is at least 1 and nothing went out today, or on Sunday when the weekly streak is at
  least 1 and nothing went out this week.

It runs where background work runs (beside the notification sender): a full pass every few
minutes, and a pass over one workspace shortly after something there was published or
measured. Goals and challenges that ended over a week ago are history, not news: they are
neither evaluated nor told (so a first start does not announce old achievements)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from postwizard.analytics.service import zone_of
from postwizard.config import Settings
from postwizard.db.base import utcnow
from postwizard.errors import PostWizardError
from postwizard.growth import repository, schemas, service
from postwizard.growth.models import GoalMetric, GrowthChallenge, GrowthGoal
from postwizard.notifications.service import Occurrence, record
from postwizard.realtime.bus import EventBus
from postwizard.realtime.events import Event, take_pending_events
from postwizard.scheduling.timezones import utc_to_local
from postwizard.workers import sleep_until_woken

log = structlog.get_logger(__name__)

GROWTH_LINK = "/growth"
# Events after which a workspace's growth may have moved (judged once the burst settles).
MOVING_EVENTS = frozenset(
    {"post.published", "post.partially_published", "metrics.updated", "account_stats.updated"}
)
# A daily streak survives at most a few days without posts (freeze days); a weekly one needs
# a post since last week's Monday. Workspaces quiet for longer have no streak to lose.
STREAK_LOOKBACK = timedelta(days=15)


@dataclass(frozen=True)
class WatchConfig:
    every: timedelta = timedelta(minutes=5)
    settle: timedelta = timedelta(seconds=20)  # after a moving event, before judging
    first_pass_after: timedelta = timedelta(seconds=30)
    news_for: timedelta = timedelta(days=7)  # how long after its end a goal/challenge is news
    judge_after: timedelta = timedelta(days=1)  # a goal younger than this is never "at risk"
    remembered_keys: int = 10_000


def _amount(metric: GoalMetric, value: float) -> str:
    match metric:
        case GoalMetric.ENGAGEMENT_RATE:
            return f"{value * 100:.1f}%"
        case GoalMetric.POSTS_PER_WEEK:
            return f"{value:.1f} posts a week"
        case GoalMetric.FOLLOWERS:
            return f"{value:,.0f} followers"


def _goal_data(goal: GrowthGoal, judged: schemas.Goal, message: str) -> dict[str, object]:
    return {
        "goal_id": str(goal.id),
        "title": goal.title,
        "metric": goal.metric.value,
        "target": judged.target,
        "current": judged.current,
        "forecast": judged.forecast,
        "status": judged.status,
        "message": message,
        "link": GROWTH_LINK,
    }


async def goal_occurrences(
    session: AsyncSession, goals: list[GrowthGoal], now: datetime, config: WatchConfig
) -> list[Occurrence]:
    """`goal.reached` and `goal.at_risk` findings for the workspace's goals."""
    found: list[Occurrence] = []
    for goal in goals:
        judged = await service.evaluate_goal(session, goal, now)
        zone = zone_of(goal.timezone)
        if judged.status == "reached":
            message = f"“{goal.title}” is reached."
            if judged.current is not None:
                message = f"“{goal.title}” is reached: {_amount(goal.metric, judged.current)}."
            found.append(
                Occurrence(
                    goal.workspace_id,
                    "goal.reached",
                    _goal_data(goal, judged, message),
                    f"goal.reached:{goal.id}",
                )
            )
        elif (
            judged.status == "at_risk"
            and judged.current is not None  # no numbers yet: nothing to judge
            and now - goal.created_at >= config.judge_after
        ):
            last_day = service.local_day(goal.deadline_at, zone) - service.DAY
            heading = (
                f"at this pace about {_amount(goal.metric, judged.forecast)} by {last_day}"
                if judged.forecast is not None
                else f"{_amount(goal.metric, judged.current)} so far"
            )
            message = (
                f"“{goal.title}” is at risk: {heading}, "
                f"the target is {_amount(goal.metric, goal.target)}."
            )
            year, week, _ = service.local_day(now, zone).isocalendar()
            found.append(
                Occurrence(
                    goal.workspace_id,
                    "goal.at_risk",
                    _goal_data(goal, judged, message),
                    f"goal.at_risk:{goal.id}:{year}-W{week:02d}",
                )
            )
    return found


async def challenge_occurrences(
    session: AsyncSession, challenges: list[GrowthChallenge], now: datetime
) -> list[Occurrence]:
    """`challenge.completed` findings: only published deliveries count, as on the growth page."""
    found: list[Occurrence] = []
    for challenge in challenges:
        judged = await service.evaluate_challenge(session, challenge, now)
        if judged.status == "completed":
            found.append(
                Occurrence(
                    challenge.workspace_id,
                    "challenge.completed",
                    {
                        "challenge_id": str(challenge.id),
                        "title": challenge.title,
                        "completed_at": (
                            judged.completed_at.isoformat() if judged.completed_at else None
                        ),
                        "message": f"You completed the challenge “{challenge.title}”.",
                        "link": GROWTH_LINK,
                    },
                    f"challenge.completed:{challenge.id}",
                )
            )
    return found


async def streak_timezone(session: AsyncSession, workspace_id: uuid.UUID) -> str:
    """The zone whose local days the reminder counts: the workspace's newest goal's or
    challenge's, else its latest scheduled post's, else UTC."""
    name = await repository.newest_growth_timezone(session, workspace_id)
    if name is None:
        return "UTC"
    try:
        zone_of(name)
    except PostWizardError:
        return "UTC"
    return name


@dataclass(frozen=True)
class StreakJudgement:
    day: date | None  # the local day whose answer is final (None: before the reminder hour)
    zone: ZoneInfo | None
    occurrence: Occurrence | None


async def streak_reminder(
    session: AsyncSession, workspace_id: uuid.UUID, now: datetime, reminder_hour: int
) -> StreakJudgement:
    """From `reminder_hour` (local) on: remind when a streak would break at midnight."""
    if not await repository.published_since(session, workspace_id, now - STREAK_LOOKBACK):
        return StreakJudgement(None, None, None)
    timezone = await streak_timezone(session, workspace_id)
    zone = zone_of(timezone)
    local_now = utc_to_local(now, zone)
    if local_now.hour < reminder_hour:
        return StreakJudgement(None, None, None)
    today = local_now.date()
    streaks = await service.streaks(session, workspace_id, timezone, 7, now)
    this_day = streaks.days[-1]
    monday = today - timedelta(days=today.weekday())
    this_week = sum(day.posts for day in streaks.days if day.day >= monday)
    at_risk: list[str] = []
    if streaks.daily_current >= 1 and this_day.posts == 0 and not this_day.frozen:
        at_risk.append(f"your {streaks.daily_current}-day posting streak")
    if today.weekday() == 6 and streaks.weekly_current >= 1 and this_week == 0:
        at_risk.append(f"your {streaks.weekly_current}-week posting streak")
    if not at_risk:
        return StreakJudgement(today, zone, None)
    message = (
        f"Nothing is published yet today: {' and '.join(at_risk)} ends at midnight "
        f"({timezone}) unless a post goes out before then."
    )
    return StreakJudgement(
        today,
        zone,
        Occurrence(
            workspace_id,
            "streak.at_risk",
            {
                "day": today.isoformat(),
                "timezone": timezone,
                "daily_current": streaks.daily_current,
                "weekly_current": streaks.weekly_current,
                "message": message[0].upper() + message[1:],
                "link": GROWTH_LINK,
            },
            f"streak.at_risk:{workspace_id}:{today.isoformat()}",
        ),
    )


class GrowthWatcher:
    """Judges workspaces' growth periodically and after moving events; records what is news."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        bus: EventBus,
        settings: Settings,
        wake_sender: asyncio.Event | None = None,
        config: WatchConfig | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.bus = bus
        self.settings = settings
        self.wake_sender = wake_sender
        self.config = config or WatchConfig()
        self._moved: set[uuid.UUID] = set()
        self._wake = asyncio.Event()
        # What this process already recorded (the database's dedup keys are the real guard;
        # this only spares re-recording) and the local day whose streak answer is final.
        self._told: set[str] = set()
        self._streak_settled: dict[uuid.UUID, tuple[date, ZoneInfo]] = {}
        bus.add_listener(self._on_event)

    def _on_event(self, event: Event) -> None:
        published = event.type == "delivery.updated" and event.data.get("state") == "published"
        if published or event.type in MOVING_EVENTS:
            self._moved.add(event.workspace_id)
            self._wake.set()

    async def run_once(self, now: datetime | None = None) -> int:
        """Judge every workspace; how many findings this watcher told (for the first time here)."""
        now = now or utcnow()
        async with self.session_factory() as session:
            workspaces = await repository.workspace_ids(session)
            with_goals = await repository.workspaces_with_goals_or_challenges(
                session, now - self.config.news_for
            )
        told = 0
        for workspace_id in workspaces:
            told += await self.watch_workspace(
                workspace_id, now, goals_or_challenges=workspace_id in with_goals
            )
        return told

    async def watch_workspace(
        self,
        workspace_id: uuid.UUID,
        now: datetime | None = None,
        *,
        goals_or_challenges: bool = True,
    ) -> int:
        """Judge one workspace; how many findings this watcher told (for the first time here)."""
        now = now or utcnow()
        ending_after = now - self.config.news_for
        found: list[Occurrence] = []
        async with self.session_factory() as session:
            if goals_or_challenges:
                goals = [
                    goal
                    for goal in await repository.goals(session, workspace_id)
                    if goal.deadline_at > ending_after
                ]
                challenges = [
                    challenge
                    for challenge in await repository.challenges(session, workspace_id)
                    if challenge.ends_at > ending_after
                ]
                found += await goal_occurrences(session, goals, now, self.config)
                found += await challenge_occurrences(session, challenges, now)
            settled = self._streak_settled.get(workspace_id)
            if settled is None or service.local_day(now, settled[1]) != settled[0]:
                judged = await streak_reminder(
                    session, workspace_id, now, self.settings.growth_streak_reminder_hour
                )
                if judged.day is not None and judged.zone is not None:
                    self._streak_settled[workspace_id] = (judged.day, judged.zone)
                if judged.occurrence is not None:
                    found.append(judged.occurrence)
        return await self._tell(found)

    async def _tell(self, found: list[Occurrence]) -> int:
        told = 0
        for occurrence in found:
            if occurrence.key in self._told:
                continue
            async with self.session_factory() as session:
                await record(session, self.settings, occurrence)
                await session.commit()
                for pending in take_pending_events(session):
                    await self.bus.publish(pending.workspace_id, pending.type, pending.data)
            if len(self._told) >= self.config.remembered_keys:
                self._told.clear()
            self._told.add(occurrence.key)
            told += 1
        if told and self.wake_sender is not None:
            self.wake_sender.set()
        return told

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        next_pass = loop.time() + self.config.first_pass_after.total_seconds()
        while not stop.is_set():
            if not self._moved:
                await sleep_until_woken(stop, self._wake, max(0.0, next_pass - loop.time()))
            if stop.is_set():
                break
            try:
                if loop.time() >= next_pass:
                    # Set first: a failing pass (database away) must not be retried in a tight loop.
                    next_pass = loop.time() + self.config.every.total_seconds()
                    self._moved.clear()
                    await self.run_once()
                elif self._moved:
                    # Let a burst of events (a post to many networks, a collection round) settle.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.config.settle.total_seconds())
                    moved, self._moved = self._moved, set()
                    for workspace_id in moved:
                        await self.watch_workspace(workspace_id)
            except Exception:
                log.exception("growth watcher round failed")

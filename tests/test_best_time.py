"""Best time to post: the heatmap finds a known best slot in a synthetic history, stays with
the prior when data is thin, and "add to queue" can use the best slots."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from postwizard.analytics import best_time
from postwizard.analytics.queries import EngagementSample
from postwizard.scheduling.timezones import local_to_utc
from tests.analytics_history import History
from tests.api_client import ApiClient, add_sandbox_account, set_up_owner

BERLIN = ZoneInfo("Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")
THURSDAY = 3
ACCOUNT = uuid.uuid4()


def sample(local: datetime, engagements: int, zone: ZoneInfo = UTC_ZONE) -> EngagementSample:
    return EngagementSample(ACCOUNT, local_to_utc(local, zone), engagements)


def a_week_day(weekday: int, hour: int) -> datetime:
    """A local wall time on `weekday` (0 = Monday) in a fixed past week."""
    monday = date(2026, 9, 7)
    return datetime.combine(monday + timedelta(days=weekday), time(hour))


def test_without_history_the_heatmap_is_the_prior() -> None:
    heatmap = best_time.heatmap([], "UTC", UTC_ZONE)
    assert heatmap.posts_used == 0
    for cell in heatmap.cells:
        expected = math.exp(
            best_time.PRIOR_HOUR_LIFT[cell.hour] + best_time.PRIOR_WEEKDAY_LIFT[cell.weekday]
        )
        assert math.isclose(cell.score, expected)
        assert cell.observed is None
    best = heatmap.ranked()[0]
    assert (best.weekday, best.hour) == (1, 12)  # Tuesday noon: the prior's peak
    assert heatmap.ranked()[-1].hour == 3  # the small hours come last


def test_one_lucky_post_does_not_make_a_best_time() -> None:
    """Four ordinary posts on Wednesday mornings and one twice as good at 03:00 on Sunday: the
    Sunday cell rises toward its own result but stays below the prior's daytime peak."""
    history = [sample(a_week_day(2, 10) + timedelta(weeks=w), 10) for w in range(4)]
    history.append(sample(a_week_day(6, 3), 20))
    heatmap = best_time.heatmap(history, "UTC", UTC_ZONE)
    sunday_3 = heatmap.cell(6, 3)
    prior_only = best_time.heatmap([], "UTC", UTC_ZONE).cell(6, 3)

    lift = math.log(21 / 11)  # (20 + 1) / (median 10 + 1)
    assert sunday_3.posts == 1
    assert sunday_3.observed is not None
    assert math.isclose(sunday_3.observed, math.exp(lift))
    hour_3 = (lift + best_time.HOUR_PRIOR_POSTS * best_time.PRIOR_HOUR_LIFT[3]) / (
        1 + best_time.HOUR_PRIOR_POSTS
    )
    cell_prior = hour_3 + best_time.PRIOR_WEEKDAY_LIFT[6]
    expected = math.exp(
        (lift + best_time.CELL_PRIOR_POSTS * cell_prior) / (1 + best_time.CELL_PRIOR_POSTS)
    )
    assert math.isclose(sunday_3.score, expected)
    assert prior_only.score < sunday_3.score < sunday_3.observed
    assert (heatmap.ranked()[0].weekday, heatmap.ranked()[0].hour) != (6, 3)


def test_enough_evidence_outweighs_the_prior() -> None:
    """The same Sunday 03:00 result (twice the usual), seen in ten weeks, is then the best time."""
    history = [
        sample(a_week_day(day, 10) + timedelta(weeks=w), 10) for day in range(5) for w in range(4)
    ]
    history += [sample(a_week_day(6, 3) + timedelta(weeks=w), 20) for w in range(10)]
    best = best_time.heatmap(history, "UTC", UTC_ZONE).ranked()[0]
    assert (best.weekday, best.hour) == (6, 3)


def test_accounts_are_compared_with_their_own_usual_result() -> None:
    """A big account's ordinary posts do not outrank a small account's best ones."""
    big, small = uuid.uuid4(), uuid.uuid4()
    history = [
        EngagementSample(big, local_to_utc(a_week_day(0, 9) + timedelta(weeks=w), UTC_ZONE), 1000)
        for w in range(8)
    ] + [
        EngagementSample(small, local_to_utc(a_week_day(4, 15) + timedelta(weeks=w), UTC_ZONE), e)
        for w, e in enumerate([5, 5, 5, 5, 30, 30, 30, 30])
    ]
    small_filler = [
        EngagementSample(small, local_to_utc(a_week_day(1, 9) + timedelta(weeks=w), UTC_ZONE), 5)
        for w in range(8)
    ]
    heatmap = best_time.heatmap(history + small_filler, "UTC", UTC_ZONE)
    assert heatmap.cell(4, 15).score > heatmap.cell(0, 9).score


def berlin_history(weeks: int, now: datetime) -> list[tuple[datetime, int]]:
    """Every day at 08, 12, 17 and 21 Berlin time for `weeks` weeks before `now`; about 10
    likes a post, except Thursdays at 17:00, which get three times as many."""
    items = []
    first_day = (now - timedelta(weeks=weeks)).astimezone(BERLIN).date()
    for offset in range(weeks * 7):
        day = first_day + timedelta(days=offset)
        for hour in (8, 12, 17, 21):
            published = local_to_utc(datetime.combine(day, time(hour, 5)), BERLIN)
            if published >= now - timedelta(hours=2):
                continue
            likes = 8 + (offset * 7 + hour) % 5  # 8..12, no pattern by weekday
            if day.weekday() == THURSDAY and hour == 17:
                likes *= 3
            items.append((published, likes))
    return items


async def test_the_heatmap_finds_the_known_best_slot(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "baker", "Europe/Berlin")
    now = datetime.now(UTC)
    await History(both_app, owner.workspace_id).published_many(account, berlin_history(12, now))

    response = await both_client.get(
        f"/api/v1/workspaces/{owner.workspace_id}/analytics/best-time",
        params={"timezone": "Europe/Berlin", "days": 90},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["posts_used"] >= 12 * 7 * 4 - 4
    cells = sorted(body["cells"], key=lambda c: -c["score"])
    assert (cells[0]["weekday"], cells[0]["hour"]) == (THURSDAY, 17)
    assert cells[0]["observed"] > 2.5
    # The slot suggested first is the next Thursday 17:00 in Berlin, within a week.
    first = datetime.fromisoformat(body["next_slots"][0]["at"])
    local = first.astimezone(BERLIN)
    assert (local.weekday(), local.hour, local.minute) == (THURSDAY, 17, 0)
    assert now < first <= now + timedelta(days=7)
    assert len(body["next_slots"]) == 5


async def test_add_to_queue_can_take_the_best_times(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    ws = owner.workspace_id
    account = await add_sandbox_account(client, ws, "baker", "Europe/Berlin")
    now = datetime.now(UTC)
    await History(app, ws).published_many(account, berlin_history(12, now))

    times = []
    for text in ("First in line", "Second in line"):
        post = await client.post(
            f"/api/v1/workspaces/{ws}/posts",
            json={"text": text, "targets": [{"account_id": account}]},
        )
        scheduled = await client.post(
            f"/api/v1/workspaces/{ws}/posts/{post.json()['id']}/schedule",
            json={"queue": True, "queue_into": "best_times"},
        )
        assert scheduled.status_code == 200, scheduled.text
        times.append(datetime.fromisoformat(scheduled.json()["scheduled_at"]).astimezone(BERLIN))

    best = await client.get(
        f"/api/v1/workspaces/{ws}/analytics/best-time", params={"timezone": "Europe/Berlin"}
    )
    best_hours = {
        (c["weekday"], c["hour"])
        for c in sorted(best.json()["cells"], key=lambda c: -c["score"])[:7]
    }
    assert times[0] != times[1]
    for when in times:
        assert (when.weekday(), when.hour) in best_hours
        assert when.minute == 0
    # Without the option the account's own posting slots are used (it has none).
    post = await client.post(
        f"/api/v1/workspaces/{ws}/posts",
        json={"text": "Third", "targets": [{"account_id": account}]},
    )
    plain = await client.post(
        f"/api/v1/workspaces/{ws}/posts/{post.json()['id']}/schedule", json={"queue": True}
    )
    assert plain.status_code == 409
    assert plain.json()["error"]["code"] == "no_free_slot"

"""Analytics as the API shows them. Every list here is also a CSV table (`?format=csv`)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from postwizard.api.schemas import ResponseBody
from postwizard.platforms.networks import Network


class PeriodView(ResponseBody):
    """The period asked for and the one before it, as UTC instants [start, end)."""

    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime
    timezone: str
    days: int


class OverviewMetric(ResponseBody):
    """One number of the period next to the previous period's. None: nothing to compute it from."""

    name: str = Field(
        description="posts | deliveries | impressions | engagements | engagement_rate | follower_growth"
    )
    current: float | None
    previous: float | None
    change: float | None = Field(description="current - previous")
    change_percent: float | None = Field(
        description="change / previous * 100 (None if previous is 0)"
    )


class Overview(ResponseBody):
    period: PeriodView
    metrics: list[OverviewMetric]
    followers: int | None = Field(description="Followers of every account now (last count).")
    measured_deliveries: int = Field(description="Deliveries of the period with numbers so far.")


class DailyPoint(ResponseBody):
    """Posts published on a local day, and their numbers so far."""

    day: date
    posts: int
    impressions: int
    engagements: int


class Daily(ResponseBody):
    period: PeriodView
    items: list[DailyPoint]


class AccountRow(ResponseBody):
    account_id: uuid.UUID
    display_name: str
    handle: str
    network: Network
    provides_metrics: bool
    posts: int
    impressions: int
    engagements: int
    engagement_rate: float | None
    followers: int | None
    follower_growth: int | None


class AccountTable(ResponseBody):
    period: PeriodView
    items: list[AccountRow]


class NetworkRow(ResponseBody):
    network: Network
    label: str
    provides_metrics: bool
    accounts: int
    posts: int
    impressions: int
    engagements: int
    engagement_rate: float | None
    engagements_per_post: float | None


class NetworkTable(ResponseBody):
    period: PeriodView
    items: list[NetworkRow]


class TopPost(ResponseBody):
    """One post on one account."""

    delivery_id: uuid.UUID
    post_id: uuid.UUID
    account_id: uuid.UUID
    account_name: str
    network: Network
    published_at: datetime
    text: str
    impressions: int | None
    likes: int | None
    reposts: int | None
    replies: int | None
    engagements: int
    engagement_rate: float | None


class TopPosts(ResponseBody):
    period: PeriodView
    by: str
    items: list[TopPost]


class GroupRow(ResponseBody):
    """Posts sharing a label, a campaign or a hashtag."""

    key: str
    posts: int
    impressions: int
    engagements: int
    engagement_rate: float | None
    engagements_per_post: float | None


class GroupTable(ResponseBody):
    period: PeriodView
    group: str = Field(description="label | campaign | hashtag")
    items: list[GroupRow]


class CurrentNumbers(ResponseBody):
    impressions: int | None
    likes: int | None
    reposts: int | None
    replies: int | None
    quotes: int | None
    bookmarks: int | None
    clicks: int | None
    engagements: int | None
    collected_at: datetime | None


class SeriesPoint(ResponseBody):
    hours_since_published: float
    collected_at: datetime
    impressions: int | None
    likes: int | None
    reposts: int | None
    replies: int | None
    engagements: int


class Checkpoint(ResponseBody):
    """Engagements at an age, this post next to the account's median post at the same age."""

    hours: int
    this_post: int | None = Field(description="None: the post is not that old yet.")
    account_median: float | None
    posts_compared: int


class DeliveryAnalytics(ResponseBody):
    delivery_id: uuid.UUID
    account_id: uuid.UUID
    account_name: str
    network: Network
    provides_metrics: bool
    published_at: datetime
    current: CurrentNumbers
    series: list[SeriesPoint]
    checkpoints: list[Checkpoint]


class PostAnalytics(ResponseBody):
    post_id: uuid.UUID
    deliveries: list[DeliveryAnalytics]


class HeatCell(ResponseBody):
    weekday: int = Field(description="0 = Monday")
    hour: int
    posts: int = Field(description="Posts of the history published in this hour.")
    observed: float | None = Field(description="Their lift without smoothing (None: no posts).")
    score: float = Field(description="Smoothed lift: 1.0 is an ordinary post, 1.5 is 50% better.")


class SlotView(ResponseBody):
    at: datetime
    weekday: int
    hour: int
    score: float


class BestTime(ResponseBody):
    timezone: str
    days: int
    posts_used: int
    cells: list[HeatCell]
    next_slots: list[SlotView]

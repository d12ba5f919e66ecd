"""The simulated audience: how many people follow an account, and how they react to a post.

Everything here is a pure function of stored facts and `now`, so metrics need no background
task: they are worked out whenever they are asked for, and rise as the clock moves.

Followers
    followers = initial * (1 + FOLLOWER_GROWTH_PER_DAY * account age in days)
                + FOLLOWERS_PER_POST * posts published
    `initial` is given when the account is created, or derived from the handle (log-uniform
    between INITIAL_FOLLOWERS_MIN and INITIAL_FOLLOWERS_MAX), so the same handle always starts
    with the same audience.

A post's totals (what it would reach given forever)
    impressions = BASE_IMPRESSIONS + audience * REACH_PER_FOLLOWER
                  * HOUR_WEIGHTS[UTC hour of posting] * (1 or WEEKEND_WEIGHT)
                  * reach factors of the text (length, hashtags, links) and media
                  * luck (log-normal, sigma LUCK_SIGMA)
    likes, reposts, replies, quotes = impressions * their RATE * the post's own appetite for
                  that reaction (log-normal, sigma RATE_SIGMA) * text/media factors
                  (a question mark invites replies; a link is reposted more; media is liked)
    `audience` is the account's followers at the moment of posting, stored with the post.

Over time
    cumulative(t) = total * (1 - exp(-t / tau)), t = hours since posting.
    Impressions use tau drawn per post between TAU_MIN_HOURS and TAU_MAX_HOURS; reactions come
    later (tau * REACTION_LAG). Values are floored to integers, so they never go down.

Randomness comes from `random.Random` seeded with a digest of the post id: one post always
gets the same luck and the same curve, and two sandboxes that receive the same posts in the
same order report the same numbers.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime

# --- followers ---------------------------------------------------------------------------------
INITIAL_FOLLOWERS_MIN = 50
INITIAL_FOLLOWERS_MAX = 5_000
FOLLOWING_MIN = 20
FOLLOWING_MAX = 800
FOLLOWER_GROWTH_PER_DAY = 0.003  # 0.3 % of the starting audience per day, linear: slow
FOLLOWERS_PER_POST = 0.4  # every post brings a few people in
SECONDS_PER_DAY = 86_400.0
SECONDS_PER_HOUR = 3_600.0

# --- reach -------------------------------------------------------------------------------------
BASE_IMPRESSIONS = 3.0  # strangers who find any post, even one from an account nobody follows
REACH_PER_FOLLOWER = 0.35  # share of followers a typical post reaches in the end
# Relative size of the audience that is online, by UTC hour of posting: asleep at 3 a.m.,
# busiest around lunch and early evening.
HOUR_WEIGHTS: tuple[float, ...] = (
    0.35, 0.28, 0.22, 0.20, 0.22, 0.30, 0.45, 0.65,  # 00-07
    0.85, 1.00, 1.10, 1.15, 1.20, 1.20, 1.15, 1.10,  # 08-15
    1.10, 1.15, 1.20, 1.20, 1.10, 0.90, 0.70, 0.50,  # 16-23
)  # fmt: skip
WEEKEND_WEIGHT = 0.75  # Saturday and Sunday feeds are quieter
LUCK_SIGMA = 0.5  # spread of how well one post does against an identical one

# --- text and media ----------------------------------------------------------------------------
SHORT_TEXT_CODE_POINTS = 40
LONG_TEXT_CODE_POINTS = 280
SHORT_TEXT_WEIGHT = 0.85  # too little to stop the scroll
MEDIUM_TEXT_WEIGHT = 1.10
LONG_TEXT_WEIGHT = 0.95  # walls of text lose readers
HASHTAG_BOOST = 0.08  # per hashtag, for the first HELPFUL_HASHTAGS
HELPFUL_HASHTAGS = 2
SPAMMY_HASHTAGS_FROM = 4  # every hashtag from the 4th on costs reach
SPAMMY_HASHTAG_WEIGHT = 0.9
LINK_REACH_WEIGHT = 0.8  # feeds down-rank posts that send people away
LINK_REPOST_WEIGHT = 1.3  # ...but links get shared
QUESTION_REPLY_WEIGHT = 2.5  # a question asks for answers
FIRST_MEDIA_REACH_BOOST = 0.30
MORE_MEDIA_REACH_BOOST = 0.05  # per further item
MEDIA_LIKE_BOOST = 0.20

# --- reactions ---------------------------------------------------------------------------------
LIKE_RATE = 0.030
REPOST_RATE = 0.006
REPLY_RATE = 0.003
QUOTE_RATE = 0.001
RATE_SIGMA = 0.3

# --- timing ------------------------------------------------------------------------------------
TAU_MIN_HOURS = 2.0
TAU_MAX_HOURS = 4.0
REACTION_LAG = 1.5  # reactions build up more slowly than views (tau 3-6 h)

HASHTAG = re.compile(r"(?<!\w)#\w+")
LINK = re.compile(r"https?://\S+", re.IGNORECASE)


@dataclass(frozen=True)
class PostFacts:
    """What the audience model needs to know about one post."""

    post_id: int
    created_at: datetime
    text: str
    media_count: int
    audience: int  # the account's followers when it was posted


@dataclass(frozen=True)
class Engagement:
    """Cumulative counts of one post at one moment."""

    impressions: int
    likes: int
    reposts: int
    replies: int
    quotes: int


@dataclass(frozen=True)
class Forecast:
    """A post's totals (as t goes to infinity) and the time constants of its curves."""

    impressions: float
    likes: float
    reposts: float
    replies: float
    quotes: float
    views_tau_hours: float
    reactions_tau_hours: float


def _digest_int(label: str) -> int:
    return int.from_bytes(hashlib.sha256(label.encode()).digest()[:8], "big")


def initial_followers_for(handle: str) -> int:
    """The audience an account starts with when none is given: fixed by the handle."""
    unit = _digest_int(f"followers:{handle.casefold()}") / 2**64
    span = math.log(INITIAL_FOLLOWERS_MAX) - math.log(INITIAL_FOLLOWERS_MIN)
    return round(math.exp(math.log(INITIAL_FOLLOWERS_MIN) + unit * span))


def following_for(handle: str) -> int:
    """How many accounts this account follows: fixed by the handle, it does not matter more."""
    unit = _digest_int(f"following:{handle.casefold()}") / 2**64
    return FOLLOWING_MIN + int(unit * (FOLLOWING_MAX - FOLLOWING_MIN))


def followers_at(
    initial_followers: int, account_created_at: datetime, posts_count: int, now: datetime
) -> int:
    """Followers grow slowly with the account's age and with every post it published."""
    age_days = max(0.0, (now - account_created_at).total_seconds() / SECONDS_PER_DAY)
    grown = initial_followers * (1 + FOLLOWER_GROWTH_PER_DAY * age_days)
    return math.floor(grown + FOLLOWERS_PER_POST * posts_count)


def time_weight(posted_at: datetime) -> float:
    """How many of the followers are around when a post goes out (hour of day, weekday)."""
    utc = posted_at.astimezone(UTC)
    weekend = utc.weekday() >= 5
    return HOUR_WEIGHTS[utc.hour] * (WEEKEND_WEIGHT if weekend else 1.0)


def _length_weight(text: str) -> float:
    if len(text) < SHORT_TEXT_CODE_POINTS:
        return SHORT_TEXT_WEIGHT
    if len(text) > LONG_TEXT_CODE_POINTS:
        return LONG_TEXT_WEIGHT
    return MEDIUM_TEXT_WEIGHT


def _hashtag_weight(hashtags: int) -> float:
    boost = 1 + HASHTAG_BOOST * min(hashtags, HELPFUL_HASHTAGS)
    spammy = max(0, hashtags - SPAMMY_HASHTAGS_FROM + 1)
    return boost * SPAMMY_HASHTAG_WEIGHT**spammy


def _media_reach_weight(media_count: int) -> float:
    if media_count <= 0:
        return 1.0
    return 1 + FIRST_MEDIA_REACH_BOOST + MORE_MEDIA_REACH_BOOST * (media_count - 1)


def forecast(post: PostFacts) -> Forecast:
    """The post's totals and curve shapes; the same post always gets the same forecast."""
    luck = random.Random(_digest_int(f"post:{post.post_id}"))  # noqa: S311 - simulation, not security
    has_link = LINK.search(post.text) is not None
    reach = (
        time_weight(post.created_at)
        * _length_weight(post.text)
        * _hashtag_weight(len(HASHTAG.findall(post.text)))
        * (LINK_REACH_WEIGHT if has_link else 1.0)
        * _media_reach_weight(post.media_count)
    )
    impressions = (
        BASE_IMPRESSIONS
        + post.audience * REACH_PER_FOLLOWER * reach * luck.lognormvariate(0.0, LUCK_SIGMA)
    )

    def reaction(rate: float, weight: float) -> float:
        return impressions * rate * weight * luck.lognormvariate(0.0, RATE_SIGMA)

    media_like = 1 + MEDIA_LIKE_BOOST if post.media_count > 0 else 1.0
    views_tau = luck.uniform(TAU_MIN_HOURS, TAU_MAX_HOURS)
    return Forecast(
        impressions=impressions,
        likes=reaction(LIKE_RATE, media_like),
        reposts=reaction(REPOST_RATE, LINK_REPOST_WEIGHT if has_link else 1.0),
        replies=reaction(REPLY_RATE, QUESTION_REPLY_WEIGHT if "?" in post.text else 1.0),
        quotes=reaction(QUOTE_RATE, 1.0),
        views_tau_hours=views_tau,
        reactions_tau_hours=views_tau * REACTION_LAG,
    )


def _cumulative(total: float, hours: float, tau_hours: float) -> int:
    return math.floor(total * (1 - math.exp(-hours / tau_hours)))


def engagement_at(post: PostFacts, now: datetime) -> Engagement:
    """The post's counts at `now`: zero when it was just posted, approaching its totals."""
    hours = (now - post.created_at).total_seconds() / SECONDS_PER_HOUR
    if hours <= 0:
        return Engagement(impressions=0, likes=0, reposts=0, replies=0, quotes=0)
    expected = forecast(post)
    views_tau, reactions_tau = expected.views_tau_hours, expected.reactions_tau_hours
    return Engagement(
        impressions=_cumulative(expected.impressions, hours, views_tau),
        likes=_cumulative(expected.likes, hours, reactions_tau),
        reposts=_cumulative(expected.reposts, hours, reactions_tau),
        replies=_cumulative(expected.replies, hours, reactions_tau),
        quotes=_cumulative(expected.quotes, hours, reactions_tau),
    )

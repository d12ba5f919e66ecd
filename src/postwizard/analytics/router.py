"""Analytics API: overview, accounts, networks, top posts, groups, a post's curve, best time.
Every table is also CSV (`?format=csv`); answers are cached until new numbers arrive."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from pydantic import BaseModel

from postwizard.analytics import schemas, service
from postwizard.analytics.cache import AggregateCache, create_cache
from postwizard.analytics.queries import TOP_ORDER
from postwizard.api import API_PREFIX
from postwizard.api.resources import resources, resources_of
from postwizard.db.base import utcnow
from postwizard.db.session import DbSession
from postwizard.workspaces.dependencies import ViewerAccess


@asynccontextmanager
async def analytics_lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One aggregate cache per app, emptied per workspace by the bus's events."""
    held = resources_of(app)
    cache = create_cache(held.settings.redis_url, held.settings.analytics_cache_seconds)
    held.bus.add_listener(cache.on_event)
    app.state.analytics_cache = cache
    try:
        yield
    finally:
        await cache.aclose()


router = APIRouter(
    prefix=f"{API_PREFIX}/workspaces/{{workspace_id}}/analytics",
    tags=["analytics"],
    lifespan=analytics_lifespan,
)

Format = Annotated[
    Literal["json", "csv"], Query(description="json, or csv for a spreadsheet (the table only).")
]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "JSON, or CSV with `format=csv`."}
}


def aggregate_cache(request: Request) -> AggregateCache:
    cache: AggregateCache | None = getattr(request.app.state, "analytics_cache", None)
    if cache is None:  # the app was used without its lifespan (e.g. a bare script)
        held = resources(request)
        cache = create_cache("", held.settings.analytics_cache_seconds)
        request.app.state.analytics_cache = cache
    return cache


Cache = Annotated[AggregateCache, Depends(aggregate_cache)]


def period_of(
    period: Annotated[
        str | None,
        Query(description="The last N days including today: 7d, 30d, 90d (default 30d)."),
    ] = None,
    start: Annotated[date | None, Query(description="First day (instead of `period`).")] = None,
    end: Annotated[date | None, Query(description="Last day, inclusive.")] = None,
    timezone: Annotated[
        str, Query(max_length=64, description="IANA zone whose days the period counts.")
    ] = "UTC",
) -> service.Period:
    return service.resolve_period(period, start, end, timezone, utcnow())


PeriodParam = Annotated[service.Period, Depends(period_of)]


@dataclass(frozen=True)
class Table:
    """How a response becomes a CSV: which rows, named how."""

    name: str
    rows: Callable[[Any], Iterable[dict[str, Any]]]


def _items(model: Any) -> Iterable[dict[str, Any]]:
    for item in model.items:
        yield item.model_dump(mode="json")


def _csv(rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(out, fieldnames=list(row))
            writer.writeheader()
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


async def _answer(
    cache: AggregateCache,
    workspace_id: uuid.UUID,
    key: str,
    model: type[BaseModel],
    compute: Callable[[], Awaitable[BaseModel]],
    format: str,
    table: Table,
) -> Response:
    async def as_json() -> str:
        return (await compute()).model_dump_json()

    text = await cache.get_or_compute(workspace_id, key, as_json)
    if format == "json":
        return Response(text, media_type="application/json")
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return Response(
        _csv(table.rows(model.model_validate_json(text))),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{table.name}-{stamp}.csv"'},
    )


def _period_key(period: service.Period) -> str:
    return f"{period.start.isoformat()}/{period.end.isoformat()}/{period.timezone}"


@router.get("/overview", response_model=schemas.Overview, responses=CSV_RESPONSE)
async def overview(
    access: ViewerAccess,
    session: DbSession,
    cache: Cache,
    period: PeriodParam,
    format: Format = "json",
) -> Response:
    """Posts, impressions, engagements, engagement rate and follower growth of the period, each
    next to the previous period of the same length."""
    workspace_id = access.workspace.id
    return await _answer(
        cache,
        workspace_id,
        f"overview:{_period_key(period)}",
        schemas.Overview,
        lambda: service.overview(session, workspace_id, period),
        format,
        Table("overview", lambda m: (x.model_dump(mode="json") for x in m.metrics)),
    )


@router.get("/daily", response_model=schemas.Daily, responses=CSV_RESPONSE)
async def daily(
    access: ViewerAccess,
    session: DbSession,
    cache: Cache,
    period: PeriodParam,
    format: Format = "json",
) -> Response:
    """Per local day of the period: posts published, and their impressions and engagements."""
    workspace_id = access.workspace.id
    return await _answer(
        cache,
        workspace_id,
        f"daily:{_period_key(period)}",
        schemas.Daily,
        lambda: service.daily(session, workspace_id, period),
        format,
        Table("daily", _items),
    )


@router.get("/accounts", response_model=schemas.AccountTable, responses=CSV_RESPONSE)
async def accounts(
    request: Request,
    access: ViewerAccess,
    session: DbSession,
    cache: Cache,
    period: PeriodParam,
    format: Format = "json",
) -> Response:
    """Each account's posts, numbers, followers and follower growth in the period."""
    workspace_id = access.workspace.id
    provides = resources(request).platforms.provides_metrics
    return await _answer(
        cache,
        workspace_id,
        f"accounts:{_period_key(period)}",
        schemas.AccountTable,
        lambda: service.by_account(session, workspace_id, period, provides),
        format,
        Table("accounts", _items),
    )


@router.get("/networks", response_model=schemas.NetworkTable, responses=CSV_RESPONSE)
async def networks(
    request: Request,
    access: ViewerAccess,
    session: DbSession,
    cache: Cache,
    period: PeriodParam,
    format: Format = "json",
) -> Response:
    """The networks side by side; `provides_metrics` false means the network gives no numbers."""
    workspace_id = access.workspace.id
    provides = resources(request).platforms.provides_metrics
    return await _answer(
        cache,
        workspace_id,
        f"networks:{_period_key(period)}",
        schemas.NetworkTable,
        lambda: service.by_network(session, workspace_id, period, provides),
        format,
        Table("networks", _items),
    )


TopBy = Literal["engagements", "impressions", "likes", "reposts", "replies"]
assert set(get_args(TopBy)) == set(TOP_ORDER)  # one list of rankable numbers


@router.get("/top-posts", response_model=schemas.TopPosts, responses=CSV_RESPONSE)
async def top_posts(
    access: ViewerAccess,
    session: DbSession,
    cache: Cache,
    period: PeriodParam,
    by: TopBy = "engagements",
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
    format: Format = "json",
) -> Response:
    """The period's best posts (one post on one account per row), by `by`."""
    workspace_id = access.workspace.id
    return await _answer(
        cache,
        workspace_id,
        f"top:{_period_key(period)}:{by}:{limit}",
        schemas.TopPosts,
        lambda: service.top_posts(session, workspace_id, period, by, limit),
        format,
        Table(f"top-posts-by-{by}", _items),
    )


@router.get("/groups/{group}", response_model=schemas.GroupTable, responses=CSV_RESPONSE)
async def groups(
    group: Literal["label", "campaign", "hashtag"],
    access: ViewerAccess,
    session: DbSession,
    cache: Cache,
    period: PeriodParam,
    format: Format = "json",
) -> Response:
    """Performance per label, campaign or hashtag (a post with two labels counts in both)."""
    workspace_id = access.workspace.id
    return await _answer(
        cache,
        workspace_id,
        f"group:{group}:{_period_key(period)}",
        schemas.GroupTable,
        lambda: service.by_group(session, workspace_id, period, group),
        format,
        Table(f"by-{group}", _items),
    )


def _series_rows(model: Any) -> Iterable[dict[str, Any]]:
    for delivery in model.deliveries:
        for point in delivery.series:
            yield {
                "delivery_id": str(delivery.delivery_id),
                "account_name": delivery.account_name,
                "network": delivery.network.value,
                **point.model_dump(mode="json"),
            }


@router.get("/posts/{post_id}", response_model=schemas.PostAnalytics, responses=CSV_RESPONSE)
async def post_analytics(
    post_id: uuid.UUID,
    request: Request,
    access: ViewerAccess,
    session: DbSession,
    cache: Cache,
    format: Format = "json",
) -> Response:
    """The post on each account: current numbers, engagement since publishing, and the same
    ages for the account's median post. CSV: the time series."""
    workspace_id = access.workspace.id
    provides = resources(request).platforms.provides_metrics
    now = utcnow()
    return await _answer(
        cache,
        workspace_id,
        f"post:{post_id}",
        schemas.PostAnalytics,
        lambda: service.post_analytics(session, workspace_id, post_id, provides, now),
        format,
        Table(f"post-{post_id}", _series_rows),
    )


@router.get("/best-time", response_model=schemas.BestTime, responses=CSV_RESPONSE)
async def best_time(
    access: ViewerAccess,
    session: DbSession,
    cache: Cache,
    timezone: Annotated[
        str, Query(max_length=64, description="IANA zone the heatmap's hours are in.")
    ] = "UTC",
    days: Annotated[int, Query(ge=7, le=730, description="History to learn from.")] = (
        service.BEST_TIME_DAYS
    ),
    format: Format = "json",
) -> Response:
    """Weekday-by-hour heatmap of how posts did (1.0 = the account's usual post), smoothed toward
    a prior where history is thin (docs/analytics.md), and the next best slots. CSV: the cells."""
    workspace_id = access.workspace.id
    service.zone_of(timezone)  # 422 before anything is cached under a bad zone
    now = utcnow()
    return await _answer(
        cache,
        workspace_id,
        # The hour in the key: next slots move on as time passes.
        f"best:{timezone}:{days}:{now:%Y%m%d%H}",
        schemas.BestTime,
        lambda: service.best_time_view(session, workspace_id, timezone, days, now),
        format,
        Table("best-time", lambda m: (c.model_dump(mode="json") for c in m.cells)),
    )

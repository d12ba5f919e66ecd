"""The sandbox network: a simulated, non-idempotent social network with its own store.

Plain API behaviour is exercised in-process (httpx.ASGITransport); everything that depends on
sockets (timeouts after apply, dropped connections, concurrency, the CLI) runs uvicorn on a
free loopback port."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import Mount
from typer.testing import CliRunner

from postwizard.app import create_app
from postwizard.config import Settings
from postwizard.sandbox import FaultConfig, RateLimit, close_sandbox_app, create_sandbox_app
from postwizard.sandbox.audience import HOUR_WEIGHTS
from postwizard.sandbox.faults import ConnectionDropped
from tests.support.services import free_port
from tests.support.serving import SERVER_START_TIMEOUT_S, HttpProtocol, serving

# A Tuesday, lunchtime UTC: the audience is awake and it is a weekday.
TUESDAY_NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
CLIENT_TIMEOUT_S = 1.0


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(TUESDAY_NOON)


@asynccontextmanager
async def in_process(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client talking to the app in-process, with the app's lifespan running."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test"
        ) as client,
    ):
        yield client


@pytest.fixture
def make_app(tmp_path: Path, clock: FakeClock) -> Callable[..., FastAPI]:
    counter = iter(range(1_000))

    def make(**options: Any) -> FastAPI:
        options.setdefault("clock", clock)
        return create_sandbox_app(tmp_path / f"sandbox-{next(counter)}.db", **options)

    return make


@pytest.fixture
async def client(make_app: Callable[..., FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    async with in_process(make_app()) as api:
        yield api


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def new_account(client: httpx.AsyncClient, handle: str, followers: int | None = None) -> str:
    body: dict[str, Any] = {"handle": handle}
    if followers is not None:
        body["followers"] = followers
    created = await client.post("/v1/accounts", json=body)
    assert created.status_code == 201, created.text
    token: str = created.json()["token"]
    return token


async def publish(
    client: httpx.AsyncClient, handle: str, token: str, key: str, text: str = "Hello, sandbox!"
) -> httpx.Response:
    return await client.post(
        f"/v1/accounts/{handle}/posts",
        json={"text": text, "client_key": key},
        headers=bearer(token),
    )


def error_code(response: httpx.Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


# --- accounts and posts ----------------------------------------------------------------------


async def test_an_account_is_created_with_a_token_and_answers_its_profile(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    created = await client.post("/v1/accounts", json={"handle": "ada", "display_name": "Ada L."})
    assert created.status_code == 201
    body = created.json()
    assert body["handle"] == "ada"
    assert body["display_name"] == "Ada L."
    assert body["followers"] > 0
    assert body["token"].startswith("sbx_")

    profile = await client.get("/v1/accounts/ada", headers=bearer(body["token"]))
    assert profile.status_code == 200
    assert profile.json()["posts_count"] == 0
    assert profile.json()["followers"] == body["followers"]
    assert profile.headers["X-RateLimit-Limit"] == "300"

    again = await client.post("/v1/accounts", json={"handle": "ADA"})
    assert again.status_code == 409
    assert error_code(again) == "handle_taken"
    bad_handle = await client.post("/v1/accounts", json={"handle": "no spaces"})
    assert bad_handle.status_code == 422
    assert error_code(bad_handle) == "invalid_request"


async def test_a_post_is_found_again_by_its_client_key(client: httpx.AsyncClient) -> None:
    token = await new_account(client, "ada")
    created = await publish(client, "ada", token, "delivery-1", "First post")
    assert created.status_code == 201
    post = created.json()
    assert post["client_key"] == "delivery-1"
    assert post["url"] == f"http://sandbox.test/@ada/{post['id']}"
    await publish(client, "ada", token, "delivery-2", "Second post")

    found = await client.get(
        "/v1/accounts/ada/posts", params={"client_key": "delivery-1"}, headers=bearer(token)
    )
    assert [item["id"] for item in found.json()["items"]] == [post["id"]]
    everything = await client.get("/v1/accounts/ada/posts", headers=bearer(token))
    assert [item["text"] for item in everything.json()["items"]] == ["Second post", "First post"]
    newest = await client.get("/v1/accounts/ada/posts?limit=1", headers=bearer(token))
    assert [item["text"] for item in newest.json()["items"]] == ["Second post"]
    later = (TUESDAY_NOON + timedelta(seconds=1)).isoformat()
    assert (
        await client.get("/v1/accounts/ada/posts", params={"since": later}, headers=bearer(token))
    ).json() == {"items": []}

    page = await client.get(f"/@ada/{post['id']}")
    assert page.json()["post"]["text"] == "First post"
    profile = await client.get("/v1/accounts/ada", headers=bearer(token))
    assert profile.json()["posts_count"] == 2


async def test_a_thread_reply_names_an_existing_post(client: httpx.AsyncClient) -> None:
    token = await new_account(client, "ada")
    first = (await publish(client, "ada", token, "thread-1")).json()
    reply = await client.post(
        "/v1/accounts/ada/posts",
        json={"text": "…and more", "client_key": "thread-2", "reply_to": first["id"]},
        headers=bearer(token),
    )
    assert reply.status_code == 201
    assert reply.json()["reply_to"] == first["id"]
    orphan = await client.post(
        "/v1/accounts/ada/posts",
        json={"text": "lost", "client_key": "thread-3", "reply_to": "999999"},
        headers=bearer(token),
    )
    assert orphan.status_code == 422
    assert error_code(orphan) == "reply_to_not_found"


async def test_the_network_is_not_idempotent_and_its_record_shows_the_duplicate(
    client: httpx.AsyncClient,
) -> None:
    ada = await new_account(client, "ada")
    bob = await new_account(client, "bob")
    first = await publish(client, "ada", ada, "same-key")
    second = await publish(client, "ada", ada, "same-key")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    # The same key on another account is another delivery, not a duplicate.
    await publish(client, "bob", bob, "same-key")
    await publish(client, "bob", bob, "unique-key")

    record = (await client.get("/v1/_record")).json()
    assert record["accounts"] == 2
    assert record["posts"] == 4
    assert record["distinct_client_keys"] == 3
    assert record["duplicates"] == ["same-key"]
    assert record["duplicate_posts"] == [
        {
            "handle": "ada",
            "client_key": "same-key",
            "post_ids": [first.json()["id"], second.json()["id"]],
        }
    ]
    assert [(item["handle"], item["client_key"]) for item in record["items"]] == [
        ("ada", "same-key"),
        ("ada", "same-key"),
        ("bob", "same-key"),
        ("bob", "unique-key"),
    ]
    counts_only = (await client.get("/v1/_record?items=false")).json()
    assert counts_only["items"] == []
    assert counts_only["posts"] == 4


async def test_wrong_missing_foreign_and_revoked_tokens_answer_401(
    client: httpx.AsyncClient,
) -> None:
    ada = await new_account(client, "ada")
    bob = await new_account(client, "bob")
    attempts = [
        await client.get("/v1/accounts/ada"),
        await client.get("/v1/accounts/ada", headers=bearer("sbx_not-a-token")),
        await client.get("/v1/accounts/ada", headers={"Authorization": f"Basic {ada}"}),
        await client.get("/v1/accounts/ada", headers=bearer(bob)),
        await publish(client, "ada", bob, "k"),
        await client.get("/v1/posts?ids=1"),
    ]
    for response in attempts:
        assert response.status_code == 401, response.text
        assert error_code(response) == "invalid_token"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    revoked = await client.delete("/v1/accounts/ada/token")
    assert revoked.status_code == 204
    after = await publish(client, "ada", ada, "k")
    assert after.status_code == 401
    assert error_code(after) == "invalid_token"
    assert (await client.delete("/v1/accounts/nobody/token")).status_code == 404

    # Connecting again issues a new token; the old one stays dead.
    reissued = await client.post("/v1/accounts/ada/token")
    assert reissued.status_code == 201
    fresh = reissued.json()["token"]
    assert (await publish(client, "ada", fresh, "k")).status_code == 201
    assert (await publish(client, "ada", ada, "k")).status_code == 401
    assert (await client.get("/v1/_record")).json()["posts"] == 1


async def test_invalid_posts_are_refused_with_permanent_errors_and_not_stored(
    client: httpx.AsyncClient,
) -> None:
    token = await new_account(client, "ada")
    url = "/v1/accounts/ada/posts"

    async def attempt(body: dict[str, Any]) -> httpx.Response:
        return await client.post(url, json=body, headers=bearer(token))

    too_long = await attempt({"text": "x" * 501, "client_key": "k"})
    assert too_long.status_code == 422
    assert error_code(too_long) == "text_too_long"
    assert "501" in too_long.json()["error"]["message"]
    # The limit counts code points: 500 emoji fit, although they are 2,000 UTF-8 bytes.
    assert (await attempt({"text": "🙂" * 500, "client_key": "emoji"})).status_code == 201

    image = {"data_base64": "iVBORw0KGgo=", "alt": "a picture"}
    cases: dict[str, dict[str, Any]] = {
        "text_empty": {"text": "   ", "client_key": "k"},
        "invalid_client_key": {"text": "hi", "client_key": "k" * 101},
        "too_many_media": {"text": "hi", "client_key": "k", "media": [image] * 5},
        "invalid_media": {"text": "hi", "client_key": "k", "media": [{"data_base64": "%%%"}]},
        "invalid_request": {"text": "hi", "client_key": "k", "unknown": 1},
    }
    for code, body in cases.items():
        refused = await attempt(body)
        assert refused.status_code == 422, (code, refused.text)
        assert error_code(refused) == code
    malformed = await client.post(
        url, content=b"{not json", headers={**bearer(token), "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert error_code(malformed) == "invalid_json"

    with_media = await attempt(
        {"text": "pic", "client_key": "m", "media": [image, {"url": "https://example.com/a.png"}]}
    )
    assert with_media.status_code == 201
    assert with_media.json()["media_count"] == 2
    record = (await client.get("/v1/_record")).json()
    assert [item["client_key"] for item in record["items"]] == ["emoji", "m"]


async def test_the_rate_limit_answers_429_with_retry_after_until_the_bucket_refills(
    make_app: Callable[..., FastAPI], clock: FakeClock
) -> None:
    app = make_app(rate_limit=RateLimit(requests=3, window_seconds=60))
    async with in_process(app) as client:
        token = await new_account(client, "ada")
        statuses = [(await publish(client, "ada", token, f"k{n}")).status_code for n in range(3)]
        assert statuses == [201, 201, 201]
        limited = await publish(client, "ada", token, "k3")
        assert limited.status_code == 429
        assert error_code(limited) == "rate_limited"
        assert limited.headers["Retry-After"] == "20"  # one request per 60 s / 3
        # Other accounts have their own bucket.
        other = await new_account(client, "bob")
        assert (await publish(client, "bob", other, "b0")).status_code == 201

        clock.advance(seconds=20)
        assert (await publish(client, "ada", token, "k3")).status_code == 201
        assert (await publish(client, "ada", token, "k4")).status_code == 429
        record = (await client.get("/v1/_record")).json()
        assert record["posts"] == 5


# --- faults ----------------------------------------------------------------------------------


async def statuses_of_a_faulty_run(app: FastAPI, posts: int) -> tuple[list[int], dict[str, Any]]:
    async with in_process(app) as client:
        token = await new_account(client, "ada")
        statuses: list[int] = []
        for number in range(posts):
            response = await publish(client, "ada", token, f"k{number}")
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.headers["Retry-After"] == "1"
                assert error_code(response) == "rate_limited"
            elif response.status_code >= 500:
                assert error_code(response) in {"server_error", "unavailable"}
        record = (await client.get("/v1/_record")).json()
        return statuses, record


async def test_error_and_rate_limit_faults_are_repeatable_and_store_nothing(
    make_app: Callable[..., FastAPI],
) -> None:
    faults = FaultConfig(seed=7, error_rate=0.3, rate_limit_rate=0.2)
    statuses, record = await statuses_of_a_faulty_run(make_app(faults=faults), 60)
    assert {500, 503, 429, 201} <= set(statuses)
    # Only answered creations were stored; failures stored nothing.
    created = [f"k{n}" for n, status in enumerate(statuses) if status == 201]
    assert [item["client_key"] for item in record["items"]] == created
    assert 15 <= len(statuses) - len(created) <= 45  # about half, given the 0.5 fault share

    again, _record = await statuses_of_a_faulty_run(make_app(faults=faults), 60)
    assert again == statuses
    other_seed, _record = await statuses_of_a_faulty_run(
        make_app(faults=FaultConfig(seed=8, error_rate=0.3, rate_limit_rate=0.2)), 60
    )
    assert other_seed != statuses


async def test_faults_are_changed_at_run_time_and_validated(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/_faults")).json()["error_rate"] == 0.0
    token = await new_account(client, "ada")
    changed = await client.put("/v1/_faults", json={"seed": 1, "error_rate": 1.0})
    assert changed.status_code == 200
    assert (await publish(client, "ada", token, "k")).status_code in {500, 503}
    status = (await client.get("/v1/_faults")).json()
    assert status["draws"] == 1
    assert sum(status["outcomes"].values()) == 1

    too_much = await client.put("/v1/_faults", json={"error_rate": 0.6, "reset_rate": 0.6})
    assert too_much.status_code == 422
    assert error_code(too_much) == "invalid_request"
    with pytest.raises(ValueError, match="add up to"):
        FaultConfig(error_rate=0.6, reset_rate=0.6)

    assert (await client.put("/v1/_faults", json={})).status_code == 200
    assert (await publish(client, "ada", token, "k")).status_code == 201


async def test_latency_is_added_to_api_calls_but_not_to_operations(
    client: httpx.AsyncClient,
) -> None:
    token = await new_account(client, "ada")
    await client.put("/v1/_faults", json={"latency_ms": 300})
    started = time.perf_counter()
    assert (await client.get("/v1/accounts/ada", headers=bearer(token))).status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    await client.get("/v1/_record")
    assert time.perf_counter() - started < 0.3


async def test_in_process_a_reset_surfaces_as_connection_dropped(
    make_app: Callable[..., FastAPI],
) -> None:
    """Without a server to close a socket, the reset is an exception the client sees."""
    async with in_process(make_app(faults=FaultConfig(reset_rate=1.0))) as client:
        token = await new_account(client, "ada")
        with pytest.raises(ConnectionDropped):
            await publish(client, "ada", token, "reset-in-process")
        record = (await client.get("/v1/_record")).json()
        assert [item["client_key"] for item in record["items"]] == ["reset-in-process"]


def test_timeout_after_apply_stores_the_post_then_outlasts_the_client(
    make_app: Callable[..., FastAPI],
) -> None:
    faults = FaultConfig(seed=3, timeout_after_apply_rate=1.0, hang_seconds=4)
    with serving(make_app(faults=faults)) as url, httpx.Client(base_url=url) as client:
        token = client.post("/v1/accounts", json={"handle": "ada"}).json()["token"]
        with pytest.raises(httpx.ReadTimeout):
            client.post(
                "/v1/accounts/ada/posts",
                json={"text": "Did it go out?", "client_key": "unknown-1"},
                headers=bearer(token),
                timeout=CLIENT_TIMEOUT_S,
            )
        record = client.get("/v1/_record").json()
        assert [item["client_key"] for item in record["items"]] == ["unknown-1"]
        # The publisher's reconcile finds its marker.
        found = client.get(
            "/v1/accounts/ada/posts", params={"client_key": "unknown-1"}, headers=bearer(token)
        )
        assert len(found.json()["items"]) == 1


@pytest.mark.parametrize("http", ["h11", "httptools"])
def test_reset_stores_the_post_then_drops_the_connection_unanswered(
    make_app: Callable[..., FastAPI], http: HttpProtocol
) -> None:
    faults = FaultConfig(seed=5, reset_rate=1.0)
    with serving(make_app(faults=faults), http=http) as url, httpx.Client(base_url=url) as client:
        token = client.post("/v1/accounts", json={"handle": "ada"}).json()["token"]
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            client.post(
                "/v1/accounts/ada/posts",
                json={"text": "Did it go out?", "client_key": "reset-1"},
                headers=bearer(token),
                timeout=CLIENT_TIMEOUT_S,
            )
        record = client.get("/v1/_record").json()
        assert [item["client_key"] for item in record["items"]] == ["reset-1"]

        # The server is unharmed: with the faults off, the next post is answered.
        assert client.put("/v1/_faults", json={}).status_code == 200
        answered = client.post(
            "/v1/accounts/ada/posts",
            json={"text": "Second try", "client_key": "reset-2"},
            headers=bearer(token),
        )
        assert answered.status_code == 201


def test_a_mixed_fault_run_loses_nothing_the_network_stored(
    make_app: Callable[..., FastAPI],
) -> None:
    """Over real sockets, every answered or unknown outcome is in the record, nothing else."""
    faults = FaultConfig(
        seed=11, error_rate=0.2, rate_limit_rate=0.1, reset_rate=0.2, hang_seconds=3
    )
    outcomes: dict[str, str] = {}
    with serving(make_app(faults=faults)) as url, httpx.Client(base_url=url) as client:
        token = client.post("/v1/accounts", json={"handle": "ada"}).json()["token"]
        for number in range(40):
            key = f"k{number}"
            try:
                response = client.post(
                    "/v1/accounts/ada/posts",
                    json={"text": "Hello", "client_key": key},
                    headers=bearer(token),
                    timeout=CLIENT_TIMEOUT_S,
                )
                outcomes[key] = str(response.status_code)
            except httpx.RemoteProtocolError:
                outcomes[key] = "reset"
        record = client.get("/v1/_record").json()
    stored = {item["client_key"] for item in record["items"]}
    assert stored == {key for key, outcome in outcomes.items() if outcome in {"201", "reset"}}
    assert {"201", "reset", "429"} <= set(outcomes.values())
    assert record["duplicates"] == []


# --- audience --------------------------------------------------------------------------------


async def metrics(
    client: httpx.AsyncClient, token: str, ids: list[str]
) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 100):
        response = await client.get(
            "/v1/posts", params={"ids": ",".join(ids[start : start + 100])}, headers=bearer(token)
        )
        assert response.status_code == 200, response.text
        found.update({item["id"]: item for item in response.json()["items"]})
    return found


async def test_metrics_rise_over_time_and_are_reproducible(
    make_app: Callable[..., FastAPI], clock: FakeClock
) -> None:
    async def run() -> list[dict[str, Any]]:
        clock.now = TUESDAY_NOON
        async with in_process(make_app()) as client:
            token = await new_account(client, "ada", followers=5_000)
            post_id = (
                await publish(client, "ada", token, "k", "What do you think of #sandbox tests?")
            ).json()["id"]
            series = []
            for hours in (0, 1, 3, 6, 24, 72):
                clock.now = TUESDAY_NOON + timedelta(hours=hours)
                series.append((await metrics(client, token, [post_id]))[post_id])
            return series

    series = await run()
    assert series[0] | {"collected_at": None} == {
        "id": series[0]["id"],
        "impressions": 0,
        "likes": 0,
        "reposts": 0,
        "replies": 0,
        "quotes": 0,
        "collected_at": None,
    }
    assert series[1]["collected_at"] == (TUESDAY_NOON + timedelta(hours=1)).isoformat().replace(
        "+00:00", "Z"
    )
    for name in ("impressions", "likes", "reposts", "replies", "quotes"):
        values = [point[name] for point in series]
        assert values == sorted(values), (name, values)
    impressions = [point["impressions"] for point in series]
    assert impressions[1] < impressions[3] < impressions[5]
    # The curve decays: most of it has happened within a day, little is left after.
    assert impressions[4] > 0.9 * impressions[5]
    assert impressions[5] > 500  # 5,000 followers at a good hour
    assert series[5]["likes"] > 0

    assert await run() == series  # a second sandbox, same requests, same clock: same numbers


async def test_daytime_weekday_posts_reach_more_than_3am_posts(
    make_app: Callable[..., FastAPI], clock: FakeClock
) -> None:
    assert HOUR_WEIGHTS[13] > HOUR_WEIGHTS[3]
    night: list[str] = []
    day: list[str] = []
    async with in_process(make_app()) as client:
        handles = [f"user{number}" for number in range(5)]
        tokens = {handle: await new_account(client, handle, followers=2_000) for handle in handles}
        monday = TUESDAY_NOON.replace(hour=0) - timedelta(days=1)
        weekdays = [
            monday + timedelta(days=offset)
            for offset in range(28)
            if (monday + timedelta(days=offset)).weekday() < 5
        ]
        for number, date in enumerate(weekdays):
            # Alternate so both groups have the same accounts and audience sizes.
            for handle in handles:
                clock.now = date.replace(hour=3)
                night.append(
                    (await publish(client, handle, tokens[handle], f"n{number}")).json()["id"]
                )
                clock.now = date.replace(hour=13)
                day.append(
                    (await publish(client, handle, tokens[handle], f"d{number}")).json()["id"]
                )
        clock.now = weekdays[-1] + timedelta(days=4)
        found = await metrics(client, tokens["user0"], night + day)

    def mean(ids: list[str], name: str) -> float:
        return statistics.fmean(found[post_id][name] for post_id in ids)

    assert len(night) == len(day) == 100
    assert mean(day, "impressions") > 3 * mean(night, "impressions")
    assert mean(day, "likes") > 3 * mean(night, "likes")
    assert mean(day, "reposts") > mean(night, "reposts")


async def test_followers_grow_slowly_with_time_and_posts(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    token = await new_account(client, "ada", followers=1_000)

    async def followers() -> int:
        value: int = (await client.get("/v1/accounts/ada", headers=bearer(token))).json()[
            "followers"
        ]
        return value

    assert await followers() == 1_000
    clock.advance(days=30)
    after_a_month = await followers()
    assert 1_050 <= after_a_month <= 1_150
    for number in range(10):
        await publish(client, "ada", token, f"k{number}")
    assert await followers() > after_a_month
    assert await followers() == await followers()  # deterministic


async def test_metrics_requests_are_checked(client: httpx.AsyncClient) -> None:
    token = await new_account(client, "ada")
    post_id = (await publish(client, "ada", token, "k")).json()["id"]
    answer = await client.get(
        "/v1/posts", params={"ids": f"{post_id},424242,abc"}, headers=bearer(token)
    )
    assert [item["id"] for item in answer.json()["items"]] == [post_id]
    assert answer.json()["missing"] == ["424242", "abc"]
    too_many = ",".join(str(number) for number in range(101))
    refused = await client.get("/v1/posts", params={"ids": too_many}, headers=bearer(token))
    assert refused.status_code == 422
    assert error_code(refused) == "too_many_ids"


# --- store, concurrency, mounting, CLI -------------------------------------------------------


async def test_200_concurrent_creates_across_20_accounts_are_each_stored_once(
    make_app: Callable[..., FastAPI], tmp_path: Path
) -> None:
    app = make_app(clock=lambda: datetime.now(UTC))
    with serving(app) as url:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
            handles = [f"user{number}" for number in range(20)]
            tokens = dict(
                zip(
                    handles,
                    await asyncio.gather(*(new_account(client, handle) for handle in handles)),
                    strict=True,
                )
            )
            responses = await asyncio.gather(
                *(
                    publish(client, handle, tokens[handle], f"{handle}-{number}")
                    for handle in handles
                    for number in range(10)
                )
            )
            assert {response.status_code for response in responses} == {201}
            assert len({response.json()["id"] for response in responses}) == 200
            record = (await client.get("/v1/_record")).json()
            assert record["posts"] == 200
            assert record["distinct_client_keys"] == 200
            assert record["duplicates"] == []
            for handle in handles:
                profile = await client.get(f"/v1/accounts/{handle}", headers=bearer(tokens[handle]))
                assert profile.json()["posts_count"] == 10

    # The record is the file's, committed: a plain sqlite3 reader sees the same.
    with sqlite3.connect(tmp_path / "sandbox-0.db") as reader:
        assert reader.execute("SELECT count(*) FROM post").fetchone() == (200,)


async def test_the_record_survives_a_restart_and_memory_databases_are_refused(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "kept.db"
    async with in_process(create_sandbox_app(path, clock=clock)) as client:
        token = await new_account(client, "ada")
        await publish(client, "ada", token, "k1")
    async with in_process(create_sandbox_app(path, clock=clock)) as client:
        assert (await client.get("/v1/_record")).json()["posts"] == 1
        assert (await publish(client, "ada", token, "k2")).status_code == 201
    with pytest.raises(ValueError, match="memory"):
        create_sandbox_app(Path(":memory:"))


async def test_the_sandbox_works_mounted_under_a_prefix(
    make_app: Callable[..., FastAPI], clock: FakeClock
) -> None:
    host = FastAPI()
    sandbox = make_app()
    host.mount("/sandbox", sandbox)
    async with (
        in_process(sandbox),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=host), base_url="http://pw.test"
        ) as client,
    ):
        created = await client.post("/sandbox/v1/accounts", json={"handle": "ada"})
        token = created.json()["token"]
        post = await client.post(
            "/sandbox/v1/accounts/ada/posts",
            json={"text": "mounted", "client_key": "m1"},
            headers=bearer(token),
        )
        assert post.status_code == 201
        assert post.json()["url"] == f"http://pw.test/sandbox/@ada/{post.json()['id']}"
        assert (await client.get(post.json()["url"])).json()["post"]["text"] == "mounted"
        missing = await client.get("/sandbox/v1/nothing-here")
        assert missing.status_code == 404
        assert error_code(missing) == "not_found"


def test_faults_behave_the_same_mounted_inside_postwizard(
    make_app: Callable[..., FastAPI], settings: Settings
) -> None:
    """Under PostWizard's own middleware and 500 handler, a reset still drops the socket."""
    host = create_app(settings)
    sandbox = make_app()
    # Ahead of the web interface's catch-all route, as `postwizard serve` must mount it.
    host.router.routes.insert(0, Mount("/sandbox", app=sandbox))
    # PostWizard's CSRF guard refuses unsafe requests without an Authorization header; the
    # sandbox's sign-in and operations calls need none, so any value gets them past it.
    past_csrf = {"Authorization": "Bearer operator"}
    with (
        serving(host) as url,
        httpx.Client(base_url=f"{url}/sandbox", headers=past_csrf) as client,
    ):
        token = client.post("/v1/accounts", json={"handle": "ada"}).json()["token"]
        client.put("/v1/_faults", json={"seed": 2, "reset_rate": 1.0})
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            client.post(
                "/v1/accounts/ada/posts",
                json={"text": "mounted reset", "client_key": "m-reset"},
                headers=bearer(token),
                timeout=CLIENT_TIMEOUT_S,
            )
        client.put("/v1/_faults", json={"error_rate": 1.0})
        failed = client.post(
            "/v1/accounts/ada/posts",
            json={"text": "mounted error", "client_key": "m-error"},
            headers=bearer(token),
        )
        assert failed.status_code in {500, 503}
        assert error_code(failed) in {"server_error", "unavailable"}
        client.put("/v1/_faults", json={})
        created = client.post(
            "/v1/accounts/ada/posts",
            json={"text": "mounted", "client_key": "m-ok"},
            headers=bearer(token),
        )
        assert created.status_code == 201
        assert created.json()["url"].startswith(f"{url}/sandbox/@ada/")
        record = client.get("/v1/_record").json()
        assert [item["client_key"] for item in record["items"]] == ["m-reset", "m-ok"]
    # A mounted app gets no lifespan: the host closes the sandbox's database itself.
    asyncio.run(close_sandbox_app(sandbox))


def test_the_cli_command_documents_its_options() -> None:
    import typer

    from postwizard.cli.sandbox import sandbox

    app = typer.Typer()
    app.command()(sandbox)
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in (
        "--port",
        "--data-dir",
        "--error-rate",
        "--rate-limit-rate",
        "--timeout-after-apply-rate",
        "--reset-rate",
        "--latency-ms",
        "--seed",
    ):
        assert option in result.output
    refused = CliRunner().invoke(app, ["--error-rate", "0.7", "--reset-rate", "0.7"])
    assert refused.exit_code == 2


def test_the_cli_serves_the_sandbox_over_http(tmp_path: Path) -> None:
    port = free_port()
    runner = "import typer; from postwizard.cli.sandbox import sandbox; typer.run(sandbox)"
    log_path = tmp_path / "sandbox.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                runner,
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path / "data"),
                "--error-rate",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        token = httpx.post(f"{url}/v1/accounts", json={"handle": "ada"}).json()["token"]
        failed = httpx.post(
            f"{url}/v1/accounts/ada/posts",
            json={"text": "hi", "client_key": "k"},
            headers=bearer(token),
        )
        assert failed.status_code in {500, 503}
        assert httpx.get(f"{url}/v1/_faults").json()["error_rate"] == 1.0
        assert (tmp_path / "data" / "sandbox.db").exists()
    finally:
        process.terminate()
        process.wait(timeout=15)

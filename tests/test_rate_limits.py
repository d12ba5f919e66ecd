"""Rate limits over HTTP: requests per API token, AI caption requests per workspace, and failed
sign-ins — counted in the process, or in Redis so that several web processes share them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import httpx
import pytest
from fastapi import FastAPI

from postwizard.app import create_app
from postwizard.config import Settings
from tests.api_client import (
    DEFAULT_PASSWORD,
    ApiClient,
    Person,
    create_workspace,
    set_up_owner,
)
from tests.support.services import free_port

TOKEN_LIMIT = 3
AI_LIMIT = 2
LOGIN_LIMIT = 3


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def limited_settings(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings], sqlite_url: str
) -> Settings:
    redis_url = ""
    if request.param == "redis":
        redis_server = request.getfixturevalue("redis_server")
        redis_server.flush_all()
        redis_url = redis_server.url
    return make_settings(
        database_url=sqlite_url,
        redis_url=redis_url,
        api_token_requests_per_minute=TOKEN_LIMIT,
        ai_generations_per_minute=AI_LIMIT,
        login_attempts_per_minute=LOGIN_LIMIT,
    )


@pytest.fixture
async def processes(limited_settings: Settings) -> AsyncIterator[list[FastAPI]]:
    """Two web processes (two apps) on the same database and, with Redis, the same Redis."""
    apps = [create_app(limited_settings), create_app(limited_settings)]
    async with AsyncExitStack() as stack:
        for app in apps:
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield apps


def assert_rate_limited(response: httpx.Response, says: str) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert says in error["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60


async def new_token(api: ApiClient, name: str) -> dict[str, str]:
    created = await api.post("/api/v1/me/tokens", json={"name": name})
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['secret']}"}


async def test_each_api_token_is_limited_on_its_own_and_the_browser_is_not(
    processes: list[FastAPI],
) -> None:
    async with (
        ApiClient.for_app(processes[0]) as browser,
        ApiClient.for_app(processes[0]) as script,
    ):
        script.csrf = False
        await set_up_owner(browser)
        busy, quiet = await new_token(browser, "busy"), await new_token(browser, "quiet")
        for _ in range(TOKEN_LIMIT):
            assert (await script.get("/api/v1/me", headers=busy)).status_code == 200
        refused = await script.get("/api/v1/me", headers=busy)
        assert_rate_limited(refused, "requests with this API token")
        assert "at most 3 a minute" in refused.json()["error"]["message"]

        assert (await script.get("/api/v1/me", headers=quiet)).status_code == 200
        for _ in range(TOKEN_LIMIT + 2):
            assert (await browser.get("/api/v1/me")).status_code == 200


async def test_ai_caption_requests_are_limited_per_workspace(processes: list[FastAPI]) -> None:
    async with ApiClient.for_app(processes[0]) as api:
        owner = await set_up_owner(api)
        other = await create_workspace(api, "Side project")

        def captions(workspace_id: str) -> str:
            return f"/api/v1/workspaces/{workspace_id}/captions"

        # Refused input is answered 422 at the field and uses none of the allowance.
        bad = await api.post(f"{captions(owner.workspace_id)}/rewrite", json={"text": ""})
        assert bad.status_code == 422
        assert {f["field"] for f in bad.json()["error"]["fields"]} >= {"text", "action"}

        generate = {"brief": {"topic": "bread class on Saturday"}, "count": 1}
        rewrite = {"text": "We bake every morning.", "action": "shorter", "networks": ["x"]}
        first = await api.post(f"{captions(owner.workspace_id)}/generate", json=generate)
        assert first.status_code == 200, first.text
        second = await api.post(f"{captions(owner.workspace_id)}/rewrite", json=rewrite)
        assert second.status_code == 200, second.text
        for path, body in (("generate", generate), ("generate/stream", generate)):
            refused = await api.post(f"{captions(owner.workspace_id)}/{path}", json=body)
            assert_rate_limited(refused, "AI caption requests")

        elsewhere = await api.post(f"{captions(other)}/rewrite", json=rewrite)
        assert elsewhere.status_code == 200, elsewhere.text
        # Reading the history is not a generation.
        history = await api.get(f"{captions(owner.workspace_id)}/generations")
        assert history.status_code == 200


async def login(api: ApiClient, password: str) -> httpx.Response:
    return await api.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": password}
    )


@pytest.mark.redis
@pytest.mark.parametrize("limited_settings", ["redis"], indirect=True)
async def test_limits_are_shared_by_web_processes_through_redis(
    processes: list[FastAPI],
) -> None:
    one, two = processes
    async with (
        ApiClient.for_app(one) as api_one,
        ApiClient.for_app(two) as api_two,
        ApiClient.for_app(two) as script,
    ):
        script.csrf = False
        owner: Person = await set_up_owner(api_one)
        token = await new_token(api_one, "cron")
        for api in (api_one, api_two, api_one):
            response = await api.get("/api/v1/me", headers=token)
            assert response.status_code == 200
        assert_rate_limited(await script.get("/api/v1/me", headers=token), "API token")

        rewrite = {"text": "We bake every morning.", "action": "shorter", "networks": ["x"]}
        url = f"/api/v1/workspaces/{owner.workspace_id}/captions/rewrite"
        await sign_in_as_owner(api_two)
        assert (await api_one.post(url, json=rewrite)).status_code == 200
        assert (await api_two.post(url, json=rewrite)).status_code == 200
        assert_rate_limited(await api_one.post(url, json=rewrite), "AI caption requests")

        await api_one.post("/api/v1/auth/logout")
        for api in (api_one, api_two, api_one):
            assert (await login(api, "wrong-password")).status_code == 401
        assert_rate_limited(await login(api_two, DEFAULT_PASSWORD), "failed sign-ins")


async def sign_in_as_owner(api: ApiClient) -> None:
    response = await login(api, DEFAULT_PASSWORD)
    assert response.status_code == 200, response.text


async def test_a_successful_sign_in_clears_the_failures(processes: list[FastAPI]) -> None:
    async with ApiClient.for_app(processes[0]) as api:
        await set_up_owner(api)
        await api.post("/api/v1/auth/logout")
        for _ in range(LOGIN_LIMIT - 1):
            assert (await login(api, "wrong-password")).status_code == 401
        assert (await login(api, DEFAULT_PASSWORD)).status_code == 200
        for _ in range(LOGIN_LIMIT):
            assert (await login(api, "wrong-password")).status_code == 401
        assert_rate_limited(await login(api, DEFAULT_PASSWORD), "failed sign-ins")


async def test_unreachable_redis_falls_back_to_counting_in_the_process(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    """Redis down must neither let every script through nor refuse everyone."""
    settings = make_settings(
        database_url=sqlite_url,
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        api_token_requests_per_minute=TOKEN_LIMIT,
    )
    app = create_app(settings)
    async with ApiClient.for_app(app) as browser:
        # No lifespan: the event bus would insist on Redis; the limiter must cope on its own.
        await set_up_owner(browser)
        token = await new_token(browser, "cron")
        for _ in range(TOKEN_LIMIT):
            assert (await browser.get("/api/v1/me", headers=token)).status_code == 200
        assert_rate_limited(await browser.get("/api/v1/me", headers=token), "API token")
    await app.state.resources.engine.dispose()

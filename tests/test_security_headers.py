"""Security headers over HTTP: a strict CSP that allows exactly the SPA's boot script, no
sniffing or framing, HSTS and Secure cookies behind https, and no CORS for other origins."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import pytest
from fastapi import FastAPI

from postwizard.api.security_headers import inline_script_hashes
from postwizard.app import create_app
from postwizard.config import Settings
from postwizard.web.spa import DIST_DIR
from tests.api_client import ApiClient, set_up_owner

EVIL = "https://evil.example"


@pytest.fixture
async def https_client(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> AsyncIterator[ApiClient]:
    settings = make_settings(database_url=sqlite_url, public_url="https://social.example.com")
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app), ApiClient.for_app(app) as api:
        api.base_url = "https://testserver"
        yield api


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


async def test_the_spa_gets_a_strict_policy_that_allows_its_boot_script(
    client: ApiClient,
) -> None:
    page = await client.get("/calendar")
    assert page.status_code in {200, 503}  # 503: the front end is not built here
    policy = directives(page.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    scripts = policy["script-src"]
    assert "'unsafe-inline'" not in scripts
    assert "'unsafe-eval'" not in scripts
    index = DIST_DIR / "index.html"
    if index.exists():
        # Exactly the hashes SvelteKit put into the page's own <meta> policy.
        meta = re.search(
            r'http-equiv="content-security-policy" content="([^"]+)"', index.read_text()
        )
        assert meta is not None
        shipped = re.findall(r"'sha256-[^']+'", meta.group(1))
        assert shipped
        assert sorted(inline_script_hashes(index)) == sorted(shipped)
        assert scripts == ["'self'", *inline_script_hashes(index)]
    for answer in (page, await client.get("/api/v1/me"), await client.get("/healthz")):
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert "camera=()" in answer.headers["permissions-policy"]
        assert "content-security-policy" in answer.headers
        assert "strict-transport-security" not in answer.headers  # plain http here


async def test_other_origins_get_no_cors_permission(client: ApiClient) -> None:
    preflight = await client.options(
        "/api/v1/me",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    read = await client.get("/api/v1/me", headers={"Origin": EVIL})
    assert "access-control-allow-origin" not in read.headers
    assert "access-control-allow-credentials" not in read.headers


async def test_behind_https_cookies_are_secure_and_hsts_is_sent(https_client: ApiClient) -> None:
    answer = await https_client.post(
        "/api/v1/setup",
        json={
            "email": "owner@example.com",
            "password": "correct horse battery",
            "name": "Olivia Owner",
            "workspace_name": "Acme",
        },
    )
    assert answer.status_code == 201, answer.text
    cookies = answer.headers.get_list("set-cookie")
    assert cookies
    for cookie in cookies:
        assert "secure" in cookie.lower(), cookie
    assert answer.headers["strict-transport-security"].startswith("max-age=")


async def test_plain_http_cookies_stay_usable(client: ApiClient) -> None:
    await set_up_owner(client)  # signed in: the session cookie works without https
    me = await client.get("/api/v1/me")
    assert me.status_code == 200

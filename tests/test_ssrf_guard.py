"""The SSRF guard: URLs people give (a Mastodon server, a Bluesky hosting provider, a workspace's
model server) cannot lead PostWizard to private, loopback or link-local addresses, directly, by a
name that resolves there, or by a redirect; unless the administrator allows it."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from postwizard.app import create_app
from postwizard.config import Settings
from postwizard.net.ssrf import blocked_reason
from tests.api_client import ApiClient, set_up_owner
from tests.support.services import free_port
from tests.support.serving import serving

METADATA = "169.254.169.254"


@pytest.fixture
def settings(make_settings: Callable[..., Settings], sqlite_url: str) -> Settings:
    """The production default: no private targets allowed (the conftest allows loopback)."""
    return make_settings(database_url=sqlite_url, private_network_allowlist="")


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[tuple[ApiClient, str]]:
    app: FastAPI = create_app(settings)
    async with app.router.lifespan_context(app), ApiClient.for_app(app) as api:
        owner = await set_up_owner(api)
        yield api, owner.workspace_id


@pytest.fixture
async def owner_api(settings: Settings) -> AsyncIterator[tuple[ApiClient, str]]:
    async with started(settings) as pair:
        yield pair


async def connect_mastodon(api: ApiClient, workspace_id: str, instance_url: str) -> Any:
    return await api.post(
        f"/api/v1/workspaces/{workspace_id}/accounts/connect/mastodon/oauth",
        json={"fields": {"instance_url": instance_url}},
    )


def refused_field(answer: Any, field: str) -> str:
    """The message of the 422 at `field`."""
    assert answer.status_code == 422, answer.text
    fields = answer.json()["error"]["fields"]
    assert [f["field"] for f in fields] == [field], fields
    message: str = fields[0]["message"]
    return message


@pytest.mark.parametrize(
    ("instance_url", "reason"),
    [
        ("http://127.0.0.1:{port}", "loopback"),  # IPv4
        ("http://[::1]:{port}", "loopback"),  # IPv6
        ("http://localhost:{port}", "loopback"),  # a name that resolves to loopback
        ("https://10.1.2.3", "private"),
        (f"https://{METADATA}", "link-local"),  # the cloud metadata service
        ("https://[::ffff:192.168.0.1]", "private"),  # IPv4-mapped IPv6
        ("https://[fe80::1]", "link-local"),
        ("https://0.0.0.0", "unspecified"),
    ],
)
async def test_mastodon_servers_on_private_addresses_are_refused_at_the_field(
    owner_api: tuple[ApiClient, str], instance_url: str, reason: str
) -> None:
    api, workspace_id = owner_api
    answer = await connect_mastodon(api, workspace_id, instance_url.format(port=free_port()))
    message = refused_field(answer, "fields.instance_url")
    assert f"is a {reason} address" in message
    assert "POSTWIZARD_PRIVATE_NETWORK_ALLOWLIST" in message


def redirector(target: str) -> Starlette:
    """A server that sends every request elsewhere (307 keeps the method and body)."""

    async def moved(request: Request) -> RedirectResponse:
        return RedirectResponse(target + request.url.path, status_code=307)

    return Starlette(routes=[Route("/{path:path}", moved, methods=["GET", "POST"])])


async def test_a_redirect_from_an_allowed_server_to_a_private_address_is_refused(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    # 127.0.0.1 is allowed (an administrator's own server), the metadata service is not.
    allowed = make_settings(database_url=sqlite_url, private_network_allowlist="127.0.0.1")
    with serving(redirector(f"http://{METADATA}")) as url:
        async with started(allowed) as (api, workspace_id):
            answer = await connect_mastodon(api, workspace_id, url)
            message = refused_field(answer, "fields.instance_url")
            assert message.startswith(f"{METADATA} is a link-local address"), message


@pytest.mark.parametrize(
    "overrides",
    [
        {"private_network_allowlist": "127.0.0.0/8"},
        {"private_network_allowlist": "", "allow_private_network_targets": True},
    ],
)
async def test_the_allowlist_and_the_switch_let_private_servers_through(
    make_settings: Callable[..., Settings], sqlite_url: str, overrides: dict[str, object]
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    async with started(make_settings(database_url=sqlite_url, **overrides)) as (api, workspace):
        answer = await connect_mastodon(api, workspace, closed)
        # Let through: the connection itself fails, as for any server that is down.
        assert "could not be reached" in refused_field(answer, "fields.instance_url")


async def test_a_bluesky_hosting_provider_on_loopback_is_refused_at_the_field(
    owner_api: tuple[ApiClient, str],
) -> None:
    api, workspace_id = owner_api
    answer = await api.post(
        f"/api/v1/workspaces/{workspace_id}/accounts/connect/bluesky",
        json={
            "fields": {
                "identifier": "alice.example.com",
                "app_password": "abcd-efgh-ijkl-mnop",
                "service_url": f"http://[::1]:{free_port()}",
            }
        },
    )
    assert "is a loopback address" in refused_field(answer, "fields.service_url")


async def test_a_workspace_model_server_on_a_private_address_is_refused(
    owner_api: tuple[ApiClient, str],
) -> None:
    api, workspace_id = owner_api
    url = f"/api/v1/workspaces/{workspace_id}/captions/settings"
    body = {"provider": "openai_compatible", "model": "llama3.2"}
    refused = await api.put(url, json={**body, "base_url": "http://localhost:11434/v1"})
    assert "is a loopback address" in refused_field(refused, "base_url")
    tested = await api.post(
        f"{url}/test", json={"model": "llama3.2", "base_url": f"http://{METADATA}/v1"}
    )
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is False
    assert "is a link-local address" in tested.json()["message"]


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("93.184.216.34", None),
        ("2606:4700::1111", None),
        ("127.0.0.2", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "private"),  # reserved (class E); Python counts it as private too
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
    ],
)
def test_address_classes(address: str, reason: str | None) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason

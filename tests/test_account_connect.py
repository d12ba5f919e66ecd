"""Connecting accounts of any network through one mechanism: the networks on offer, the connect
form (the sandbox is a form network), reconnecting with the credential merge rule, the OAuth
redirect and its callback (the real Mastodon adapter against its local fake), and roles."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from postwizard.accounts.credentials import (
    decrypt_credentials,
    encrypt_credentials,
    merge_credentials,
)
from postwizard.accounts.models import AccountStatus, SocialAccount
from postwizard.accounts.oauth_state import OAuthState, seal_oauth_state
from postwizard.api.resources import resources_of
from postwizard.app import create_app
from postwizard.config import LogFormat, Settings
from postwizard.observability.logging import configure_logging
from postwizard.platforms.mastodon.platform import MastodonPlatform
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import AccountRef, Platform
from tests.api_client import (
    ApiClient,
    add_sandbox_account,
    create_person,
    invite,
    set_up_owner,
    sign_in,
    sign_up_by_invitation,
)
from tests.conftest import TEST_SECRET
from tests.fakes.mastodon import FakeMastodon
from tests.support.services import free_port
from tests.support.serving import serving


@pytest.fixture
def extra_platforms() -> dict[Network, Platform]:
    """The real Mastodon adapter beside the sandbox: the OAuth network of these tests."""
    return {Network.MASTODON: MastodonPlatform()}


@pytest.fixture
def fake_mastodon() -> FakeMastodon:
    server = FakeMastodon(domain="fake.social", max_characters=1000)
    server.add_account("alice", "Alice Example")
    return server


@pytest.fixture
def mastodon_url(fake_mastodon: FakeMastodon) -> Iterator[str]:
    with serving(fake_mastodon.app()) as url:
        yield url


def accounts_url(workspace_id: str) -> str:
    return f"/api/v1/workspaces/{workspace_id}/accounts"


async def stored_account(app: FastAPI, account_id: str) -> SocialAccount:
    async with resources_of(app).session_factory() as session:
        account = await session.get(SocialAccount, uuid.UUID(account_id))
        assert account is not None
        return account


async def stored_credentials(app: FastAPI, account_id: str) -> dict[str, str]:
    account = await stored_account(app, account_id)
    return decrypt_credentials(TEST_SECRET, account.credentials_encrypted)


async def flag_for_reconnecting(
    app: FastAPI, account_id: str, reason: str, credentials: dict[str, str]
) -> None:
    """What the engine does when the network refuses an account's token: the account needs
    reconnecting, for `reason`; `credentials` are what is stored for it meanwhile."""
    async with resources_of(app).session_factory() as session:
        account = await session.get(SocialAccount, uuid.UUID(account_id))
        assert account is not None
        account.status = AccountStatus.NEEDS_RECONNECT
        account.status_reason = reason
        account.credentials_encrypted = encrypt_credentials(TEST_SECRET, credentials)
        await session.commit()


async def account_count(app: FastAPI) -> int:
    from sqlalchemy import func, select

    async with resources_of(app).session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(SocialAccount)) or 0)


# --- The networks on offer ----------------------------------------------------------------


async def test_networks_say_how_each_connects(both_client: ApiClient) -> None:
    assert (await both_client.get("/api/v1/networks")).status_code == 401
    await set_up_owner(both_client)
    networks = {n["id"]: n for n in (await both_client.get("/api/v1/networks")).json()}
    assert set(networks) == {network.value for network in Network}
    sandbox = networks["sandbox"]
    assert sandbox["label"] == "Sandbox"
    assert sandbox["connect"] == "form"
    assert sandbox["unavailable_reason"] is None
    assert sandbox["provides_metrics"] is True
    assert sandbox["max_text_length"] == 500
    assert [(f["name"], f["kind"], f["required"]) for f in sandbox["connect_fields"]] == [
        ("handle", "text", True),
        ("display_name", "text", False),
    ]
    x = networks["x"]
    assert (x["connect"], x["connect_fields"], x["provides_metrics"]) == ("unavailable", [], None)
    # X needs the instance's own developer app, which these settings do not configure.
    assert "POSTWIZARD_X_CLIENT_ID" in x["unavailable_reason"]
    assert x["max_text_length"] == 280
    assert networks["mastodon"]["connect"] == "oauth"
    assert networks["telegram"]["provides_metrics"] is False


# --- The form flow ------------------------------------------------------------------------


async def test_connecting_by_form_adds_the_account_and_again_reconnects_it(
    both_client: ApiClient,
) -> None:
    owner = await set_up_owner(both_client)
    url = f"{accounts_url(owner.workspace_id)}/connect/sandbox"
    first = await both_client.post(
        url,
        json={
            "fields": {"handle": "bakery", "display_name": "Bakery"},
            "timezone": "Europe/Berlin",
        },
    )
    assert first.status_code == 201, first.text
    account = first.json()
    assert (account["network"], account["handle"], account["display_name"]) == (
        "sandbox",
        "bakery",
        "Bakery",
    )
    assert (account["status"], account["timezone"]) == ("connected", "Europe/Berlin")

    again = await both_client.post(url, json={"fields": {"handle": "bakery"}})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == account["id"]
    # A reconnect keeps the zone and the name the person gave the account.
    assert (again.json()["timezone"], again.json()["display_name"]) == ("Europe/Berlin", "Bakery")
    listed = (await both_client.get(accounts_url(owner.workspace_id))).json()["items"]
    assert [a["id"] for a in listed] == [account["id"]]

    # The older sandbox endpoint is the same mechanism: the same handle is the same account.
    legacy = await both_client.post(
        f"{accounts_url(owner.workspace_id)}/sandbox",
        json={"display_name": "Bakery", "handle": "bakery"},
    )
    assert (legacy.status_code, legacy.json()["id"]) == (200, account["id"])
    other = await add_sandbox_account(both_client, owner.workspace_id, "cafe")
    assert other != account["id"]


async def test_a_refused_field_is_named_and_changes_nothing(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    owner = await set_up_owner(both_client)
    base = accounts_url(owner.workspace_id)

    bad_handle = await both_client.post(
        f"{base}/connect/sandbox", json={"fields": {"handle": "no spaces please"}}
    )
    assert bad_handle.status_code == 422, bad_handle.text
    error = bad_handle.json()["error"]
    assert error["code"] == "connect_failed"
    assert error["fields"] == [
        {"field": "fields.handle", "message": "Use 1 to 30 letters, digits or _ for the handle."}
    ]

    missing = await both_client.post(f"{base}/connect/sandbox", json={"fields": {}})
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"] == [
        {"field": "fields.handle", "message": "Handle is required."}
    ]

    unknown = await both_client.post(
        f"{base}/connect/sandbox", json={"fields": {"handle": "ok", "password": "x"}}
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["fields"][0]["field"] == "fields.password"

    zone = await both_client.post(
        f"{base}/connect/sandbox", json={"fields": {"handle": "ok"}, "timezone": "Berlin"}
    )
    assert zone.status_code == 422
    assert zone.json()["error"]["fields"][0]["field"] == "timezone"

    # Through the sandbox endpoint the field is named as that endpoint's body names it.
    legacy = await both_client.post(
        f"{base}/sandbox", json={"display_name": "Dotted", "handle": "dotted.handle"}
    )
    assert legacy.status_code == 422
    assert legacy.json()["error"]["fields"][0]["field"] == "handle"

    unavailable = await both_client.post(f"{base}/connect/x", json={"fields": {}})
    assert unavailable.status_code == 400
    assert unavailable.json()["error"]["code"] == "network_unavailable"

    assert (await both_client.get(base)).json()["items"] == []
    assert await account_count(both_app) == 0


@pytest.fixture
async def app_with_unreachable_sandbox(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> AsyncIterator[FastAPI]:
    # A port nothing listens on: connecting is refused before anything is sent.
    settings = make_settings(database_url=sqlite_url, sandbox_url=f"http://127.0.0.1:{free_port()}")
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_a_network_that_does_not_answer_is_a_502(
    app_with_unreachable_sandbox: FastAPI,
) -> None:
    async with ApiClient.for_app(app_with_unreachable_sandbox) as api:
        owner = await set_up_owner(api)
        answer = await api.post(
            f"{accounts_url(owner.workspace_id)}/connect/sandbox",
            json={"fields": {"handle": "bakery"}},
        )
        assert answer.status_code == 502, answer.text
        assert answer.json()["error"]["code"] == "network_error"
        assert "did not answer" in answer.json()["error"]["message"]
        assert (await api.get(accounts_url(owner.workspace_id))).json()["items"] == []


# --- Reconnecting and the credential merge rule ---------------------------------------------


def test_new_credentials_merge_over_stored_ones_and_empty_values_never_erase() -> None:
    stored = {"access_token": "old-access", "refresh_token": "keep-me", "scope": "write"}
    new = {"access_token": "new-access", "refresh_token": "", "expires_at": "2030-01-01"}
    assert merge_credentials(stored, new) == {
        "access_token": "new-access",
        "refresh_token": "keep-me",
        "scope": "write",
        "expires_at": "2030-01-01",
    }
    assert merge_credentials({}, {"token": "", "id": "1"}) == {"id": "1"}


async def test_reconnect_restores_access_and_keeps_stored_secrets_the_network_did_not_resend(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    owner = await set_up_owner(both_client)
    account_id = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    old = await stored_credentials(both_app, account_id)
    # The person revoked PostWizard on the network; the engine flagged the account.
    assert (await both_client.delete("/sandbox/v1/accounts/bakery/token")).status_code == 204
    await flag_for_reconnecting(
        both_app,
        account_id,
        "The sandbox no longer accepts this account's token.",
        {**old, "refresh_token": "stored-refresh"},
    )

    answer = await both_client.post(f"{accounts_url(owner.workspace_id)}/{account_id}/reconnect")
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["status_reason"]) == ("connected", None)

    new = await stored_credentials(both_app, account_id)
    assert new["token"] != old["token"]
    assert new["refresh_token"] == "stored-refresh"
    # The new token really works on the network.
    sandbox = resources_of(both_app).platforms.sandbox
    stats = await sandbox.fetch_account_stats(
        AccountRef(
            id=uuid.UUID(account_id), network=Network.SANDBOX, handle="bakery", credentials=new
        )
    )
    assert stats.followers is not None
    listed = (await both_client.get(accounts_url(owner.workspace_id))).json()["items"]
    assert len(listed) == 1


async def test_reconnect_refuses_details_of_another_remote_account(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    owner = await set_up_owner(both_client)
    account_id = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    before = await stored_credentials(both_app, account_id)
    answer = await both_client.post(
        f"{accounts_url(owner.workspace_id)}/{account_id}/reconnect",
        json={"fields": {"handle": "someone_else"}},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "different_account"
    assert (await stored_account(both_app, account_id)).handle == "bakery"
    assert await stored_credentials(both_app, account_id) == before
    assert await account_count(both_app) == 1


# --- OAuth ------------------------------------------------------------------------------


async def start_oauth(
    api: ApiClient,
    workspace_id: str,
    instance_url: str | None = None,
    *,
    network: str = "mastodon",
    **body: object,
) -> str:
    """The authorize address for connecting a `network` account (a Mastodon one on the server at
    `instance_url`; networks with a fixed host have no form fields)."""
    fields = {"instance_url": instance_url} if instance_url is not None else {}
    answer = await api.post(
        f"{accounts_url(workspace_id)}/connect/{network}/oauth",
        json={"fields": fields, **body},
    )
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["authorize_url"]
    return url


async def authorize(authorize_url: str, network: str = "mastodon") -> tuple[str, str]:
    """Approve PostWizard on the fake server as its signed-in person would: the `code` and
    `state` of the redirect back to PostWizard's `network` callback."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(authorize_url)
    assert answer.status_code == 302, answer.text
    back = httpx.URL(answer.headers["location"])
    assert back.path == f"/api/v1/oauth/{network}/callback"
    return back.params["code"], back.params["state"]


async def callback(api: ApiClient, network: str = "mastodon", **params: str) -> str:
    """Where the callback sends the browser."""
    answer = await api.get(f"/api/v1/oauth/{network}/callback", params=params)
    assert answer.status_code == 303, answer.text
    location: str = answer.headers["location"]
    return location


def connected_id(location: str) -> str:
    url = httpx.URL(location)
    assert url.path == "/accounts", location
    assert "error" not in url.params, url.params["error"]
    return url.params["connected"]


def refusal(location: str) -> str:
    url = httpx.URL(location)
    assert (url.path, "connected" in url.params) == ("/accounts", False), location
    return url.params["error"]


async def test_oauth_connect_stores_the_account_and_connecting_again_reconnects_it(
    both_app: FastAPI, both_client: ApiClient, fake_mastodon: FakeMastodon, mastodon_url: str
) -> None:
    owner = await set_up_owner(both_client)
    networks = {n["id"]: n for n in (await both_client.get("/api/v1/networks")).json()}
    assert networks["mastodon"]["connect"] == "oauth"
    assert [f["name"] for f in networks["mastodon"]["connect_fields"]] == ["instance_url"]

    authorize_url = await start_oauth(
        both_client, owner.workspace_id, mastodon_url, timezone="Europe/Paris"
    )
    assert authorize_url.startswith(f"{mastodon_url}/oauth/authorize?")
    assert httpx.URL(authorize_url).params["redirect_uri"] == (
        "http://127.0.0.1:8000/api/v1/oauth/mastodon/callback"
    )
    # The pending data (the app's client secret) travels only encrypted.
    registered = next(iter(fake_mastodon.apps.values()))
    assert registered.client_secret not in authorize_url
    code, state = await authorize(authorize_url)
    account_id = connected_id(await callback(both_client, code=code, state=state))

    account = (await both_client.get(f"{accounts_url(owner.workspace_id)}/{account_id}")).json()
    assert (account["network"], account["handle"], account["display_name"]) == (
        "mastodon",
        "@alice@fake.social",
        "Alice Example",
    )
    assert (account["status"], account["timezone"]) == ("connected", "Europe/Paris")
    assert account["limit_overrides"]["max_characters"] == 1000
    credentials = await stored_credentials(both_app, account_id)
    assert credentials["access_token"] in fake_mastodon.tokens

    # The same Mastodon account connected again is the same PostWizard account.
    code, state = await authorize(await start_oauth(both_client, owner.workspace_id, mastodon_url))
    assert connected_id(await callback(both_client, code=code, state=state)) == account_id
    assert await account_count(both_app) == 1
    assert (await stored_account(both_app, account_id)).timezone == "Europe/Paris"


async def test_oauth_reconnect_signs_in_again_and_keeps_secrets_the_network_did_not_resend(
    both_app: FastAPI, both_client: ApiClient, fake_mastodon: FakeMastodon, mastodon_url: str
) -> None:
    owner = await set_up_owner(both_client)
    code, state = await authorize(await start_oauth(both_client, owner.workspace_id, mastodon_url))
    account_id = connected_id(await callback(both_client, code=code, state=state))
    old = await stored_credentials(both_app, account_id)
    fake_mastodon.revoke(old["access_token"])
    await flag_for_reconnecting(
        both_app,
        account_id,
        "The access token was revoked",
        {**old, "refresh_token": "stored-refresh"},
    )

    # Nothing to type: the server's address is known from the account.
    answer = await both_client.post(f"{accounts_url(owner.workspace_id)}/{account_id}/reconnect")
    assert answer.status_code == 200, answer.text
    assert answer.json()["authorize_url"].startswith(f"{mastodon_url}/oauth/authorize?")
    code, state = await authorize(answer.json()["authorize_url"])
    assert connected_id(await callback(both_client, code=code, state=state)) == account_id

    account = (await both_client.get(f"{accounts_url(owner.workspace_id)}/{account_id}")).json()
    assert (account["status"], account["status_reason"]) == ("connected", None)
    new = await stored_credentials(both_app, account_id)
    assert new["access_token"] != old["access_token"]
    assert not fake_mastodon.tokens[new["access_token"]].revoked
    assert new["refresh_token"] == "stored-refresh"
    assert await account_count(both_app) == 1


async def test_oauth_callback_refuses_altered_expired_foreign_and_declined_answers(
    both_app: FastAPI, both_client: ApiClient, mastodon_url: str
) -> None:
    owner = await set_up_owner(both_client)
    code, state = await authorize(await start_oauth(both_client, owner.workspace_id, mastodon_url))

    altered = state[:-6] + ("AAAAAA" if not state.endswith("AAAAAA") else "BBBBBB")
    assert "not one PostWizard started" in refusal(
        await callback(both_client, code=code, state=altered)
    )
    assert "not one PostWizard started" in refusal(await callback(both_client, code=code))

    expired = seal_oauth_state(
        TEST_SECRET,
        OAuthState(
            workspace_id=uuid.UUID(owner.workspace_id),
            user_id=uuid.UUID(owner.user_id),
            network=Network.MASTODON,
            timezone=None,
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        ),
    )
    assert "expired" in refusal(await callback(both_client, code=code, state=expired))

    assert "another network" in refusal(
        await callback(both_client, "sandbox", code=code, state=state)
    )
    assert "Access was not granted on Mastodon" in refusal(
        await callback(both_client, error="access_denied", state=state)
    )

    async with ApiClient.for_app(both_app) as stranger:
        assert "Sign in" in refusal(await callback(stranger, code=code, state=state))
        other = await create_person(both_app, "mallory@example.com", "Elsewhere")
        await sign_in(stranger, other)
        assert "started by someone else" in refusal(
            await callback(stranger, code=code, state=state)
        )
    assert await account_count(both_app) == 0

    # None of that used the answer up: the person who started can still finish.
    connected_id(await callback(both_client, code=code, state=state))
    assert await account_count(both_app) == 1


async def test_oauth_callback_checks_the_role_again(
    both_app: FastAPI, both_client: ApiClient, mastodon_url: str
) -> None:
    owner = await set_up_owner(both_client)
    async with ApiClient.for_app(both_app) as admin_api:
        admin = await sign_up_by_invitation(
            admin_api, await invite(both_client, owner.workspace_id, "admin"), "ad@example.com"
        )
        code, state = await authorize(
            await start_oauth(admin_api, owner.workspace_id, mastodon_url)
        )
        demoted = await both_client.patch(
            f"/api/v1/workspaces/{owner.workspace_id}/members/{admin.user_id}",
            json={"role": "editor"},
        )
        assert demoted.status_code == 200, demoted.text
        assert "Only admins" in refusal(await callback(admin_api, code=code, state=state))
    assert await account_count(both_app) == 0


async def test_each_network_connects_only_its_own_way(
    both_client: ApiClient, mastodon_url: str
) -> None:
    owner = await set_up_owner(both_client)
    base = f"{accounts_url(owner.workspace_id)}/connect"
    by_form = await both_client.post(
        f"{base}/mastodon", json={"fields": {"instance_url": mastodon_url}}
    )
    assert (by_form.status_code, by_form.json()["error"]["code"]) == (400, "connect_by_oauth")
    by_oauth = await both_client.post(f"{base}/sandbox/oauth", json={"fields": {"handle": "a"}})
    assert (by_oauth.status_code, by_oauth.json()["error"]["code"]) == (400, "connect_by_form")
    bad_server = await both_client.post(
        f"{base}/mastodon/oauth", json={"fields": {"instance_url": "ftp://example.org"}}
    )
    assert bad_server.status_code == 422, bad_server.text
    assert bad_server.json()["error"]["fields"][0]["field"] == "fields.instance_url"
    assert (await both_client.get(accounts_url(owner.workspace_id))).json()["items"] == []


# --- Roles --------------------------------------------------------------------------------


async def test_viewers_and_editors_cannot_connect_or_reconnect(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    owner = await set_up_owner(both_client)
    account_id = await add_sandbox_account(both_client, owner.workspace_id, "brand")
    base = accounts_url(owner.workspace_id)
    for role in ("viewer", "editor"):
        async with ApiClient.for_app(both_app) as member:
            await sign_up_by_invitation(
                member, await invite(both_client, owner.workspace_id, role), f"{role}@example.com"
            )
            assert (await member.get("/api/v1/networks")).status_code == 200
            refused = [
                await member.post(f"{base}/connect/sandbox", json={"fields": {"handle": "m"}}),
                await member.post(f"{base}/connect/mastodon/oauth", json={"fields": {}}),
                await member.post(f"{base}/{account_id}/reconnect"),
            ]
            assert [r.status_code for r in refused] == [403, 403, 403]
    assert await account_count(both_app) == 1


# --- Secrets ------------------------------------------------------------------------------


async def test_connected_secrets_appear_in_no_answer_and_no_log(
    app: FastAPI, client: ApiClient, mastodon_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(LogFormat.JSON, "debug")
    try:
        owner = await set_up_owner(client)
        base = accounts_url(owner.workspace_id)
        created = await client.post(f"{base}/connect/sandbox", json={"fields": {"handle": "shop"}})
        sandbox_id = created.json()["id"]
        reconnected = await client.post(f"{base}/{sandbox_id}/reconnect")
        code, state = await authorize(await start_oauth(client, owner.workspace_id, mastodon_url))
        mastodon_id = connected_id(await callback(client, code=code, state=state))
        answers = [
            created.text,
            reconnected.text,
            (await client.get(base)).text,
            (await client.get(f"{base}/{sandbox_id}")).text,
            (await client.get(f"{base}/{mastodon_id}")).text,
        ]
        sandbox_token = (await stored_credentials(app, sandbox_id))["token"]
        mastodon = await stored_credentials(app, mastodon_id)
        # A secret in a URL (as Telegram and Discord have them) is not logged either.
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as raw:
            await raw.get(f"/healthz?token={sandbox_token}")
        logs = capsys.readouterr().out
    finally:
        configure_logging(LogFormat.CONSOLE, "info")
        logging.getLogger().handlers.clear()
    secrets = [sandbox_token, mastodon["access_token"], mastodon["client_secret"], code]
    assert sandbox_token.startswith("sbx_")
    assert all(len(secret) >= 16 for secret in secrets)
    assert '"request"' in logs  # the logs were captured
    for text in answers:
        assert "credentials" not in text
        for secret in secrets:
            assert secret not in text
    for secret in secrets:
        assert secret not in logs, [line for line in logs.splitlines() if secret in line]

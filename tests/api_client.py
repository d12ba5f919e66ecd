"""An HTTP client that behaves like the SPA (cookies, CSRF header), and factories for people."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import httpx
from fastapi import FastAPI

from postwizard.api.resources import resources_of

DEFAULT_PASSWORD = "correct horse battery"


class ApiClient(httpx.AsyncClient):
    """Adds `X-CSRF-Token` from the `pw_csrf` cookie to unsafe requests, as the front end does."""

    csrf = True

    @classmethod
    def for_app(cls, app: FastAPI) -> Self:
        return cls(transport=httpx.ASGITransport(app=app), base_url="http://testserver")

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        if (
            self.csrf
            and request.method not in {"GET", "HEAD", "OPTIONS"}
            and "authorization" not in request.headers
        ):
            if "pw_csrf" not in self.cookies:
                await super().send(self.build_request("GET", "/healthz"))
                # The request's Cookie header was built before the cookie existed.
                if "cookie" in request.headers:
                    del request.headers["cookie"]
                self.cookies.set_cookie_header(request)
            request.headers["X-CSRF-Token"] = self.cookies.get("pw_csrf", "")
        return await super().send(request, **kwargs)


@dataclass
class Person:
    email: str
    password: str
    user_id: str
    workspace_id: str


async def set_up_owner(
    api: ApiClient, *, email: str = "owner@example.com", workspace: str = "Acme"
) -> Person:
    """First-run setup: the owner account and its workspace; `api` is signed in afterwards."""
    response = await api.post(
        "/api/v1/setup",
        json={
            "email": email,
            "password": DEFAULT_PASSWORD,
            "name": "Olivia Owner",
            "workspace_name": workspace,
        },
    )
    assert response.status_code == 201, response.text
    me = response.json()
    return Person(email, DEFAULT_PASSWORD, me["user"]["id"], me["current_workspace_id"])


async def invite(api: ApiClient, workspace_id: str, role: str = "editor") -> str:
    response = await api.post(f"/api/v1/workspaces/{workspace_id}/invitations", json={"role": role})
    assert response.status_code == 201, response.text
    url: str = response.json()["url"]
    return url.rsplit("/", 1)[1]


async def sign_up_by_invitation(
    api: ApiClient, token: str, email: str, name: str = "Someone"
) -> Person:
    response = await api.post(
        f"/api/v1/invitations/{token}/accept",
        json={"signup": {"email": email, "password": DEFAULT_PASSWORD, "name": name}},
    )
    assert response.status_code == 200, response.text
    me = response.json()
    return Person(email, DEFAULT_PASSWORD, me["user"]["id"], me["current_workspace_id"])


async def create_workspace(api: ApiClient, name: str) -> str:
    response = await api.post("/api/v1/workspaces", json={"name": name})
    assert response.status_code == 201, response.text
    workspace_id: str = response.json()["id"]
    return workspace_id


async def create_person(app: FastAPI, email: str, workspace: str) -> Person:
    """A user who owns their own workspace, made the way `postwizard user create` does."""
    from postwizard.auth import service as auth_service
    from postwizard.workspaces import service as workspaces_service

    async with resources_of(app).session_factory() as session:
        user = await auth_service.create_user(
            session, email=email, password=DEFAULT_PASSWORD, name=email.split("@")[0]
        )
        owned, _ = await workspaces_service.create_workspace(session, user, workspace)
        await session.commit()
        return Person(email, DEFAULT_PASSWORD, str(user.id), str(owned.id))


async def sign_in(api: ApiClient, person: Person) -> None:
    response = await api.post(
        "/api/v1/auth/login", json={"email": person.email, "password": person.password}
    )
    assert response.status_code == 200, response.text


async def add_sandbox_account(
    api: ApiClient, workspace_id: str, handle: str, timezone: str = "UTC"
) -> str:
    response = await api.post(
        f"/api/v1/workspaces/{workspace_id}/accounts/sandbox",
        json={"display_name": handle.title(), "handle": handle, "timezone": timezone},
    )
    assert response.status_code == 201, response.text
    account_id: str = response.json()["id"]
    return account_id


async def connect_account(
    app: FastAPI,
    workspace_id: str,
    network: str,
    handle: str,
    *,
    limit_overrides: dict[str, int] | None = None,
) -> str:
    """An account of a real network as its connect flow would leave it (the flows come with the
    networks issues; the limit checks only need the account's network and overrides)."""
    import uuid

    from postwizard.accounts.models import SocialAccount
    from postwizard.platforms.networks import Network

    async with resources_of(app).session_factory() as session:
        account = SocialAccount(
            workspace_id=uuid.UUID(workspace_id),
            network=Network(network),
            display_name=handle,
            handle=handle,
            timezone="UTC",
            limit_overrides=limit_overrides or {},
        )
        session.add(account)
        await session.commit()
        return str(account.id)


async def schedule_post(
    api: ApiClient,
    workspace_id: str,
    accounts: list[str],
    at: str,
    text: str = "Fresh bread!",
    media_ids: list[str] | None = None,
    **schedule: object,
) -> str:
    """Create a post for `accounts` (with `media_ids` attached) and schedule it at `at` (plus
    any other schedule fields)."""
    url = f"/api/v1/workspaces/{workspace_id}/posts"
    body = {
        "text": text,
        "targets": [{"account_id": a} for a in accounts],
        "media_ids": media_ids or [],
    }
    post = (await api.post(url, json=body)).json()
    answer = await api.post(f"{url}/{post['id']}/schedule", json={"at": at, **schedule})
    assert answer.status_code == 200, answer.text
    post_id: str = post["id"]
    return post_id

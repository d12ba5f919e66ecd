"""Cookie-authenticated writes need the CSRF header; a refused request changes nothing."""

from __future__ import annotations

from tests.api_client import ApiClient, set_up_owner


async def test_write_without_csrf_header_is_refused_and_changes_nothing(
    both_client: ApiClient,
) -> None:
    owner = await set_up_owner(both_client)
    both_client.csrf = False
    response = await both_client.patch(
        f"/api/v1/workspaces/{owner.workspace_id}", json={"name": "Hijacked"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"

    forged = await both_client.patch(
        f"/api/v1/workspaces/{owner.workspace_id}",
        json={"name": "Hijacked"},
        headers={"X-CSRF-Token": "guessed"},
    )
    assert forged.status_code == 403
    assert (await both_client.get(f"/api/v1/workspaces/{owner.workspace_id}")).json()[
        "name"
    ] == "Acme"

    both_client.csrf = True
    allowed = await both_client.patch(
        f"/api/v1/workspaces/{owner.workspace_id}", json={"name": "Renamed"}
    )
    assert allowed.status_code == 200


async def test_login_itself_needs_the_csrf_header(client: ApiClient) -> None:
    await set_up_owner(client)
    client.csrf = False
    response = await client.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": "whatever"}
    )
    assert response.status_code == 403


async def test_csrf_cookie_is_readable_by_the_page(client: ApiClient) -> None:
    response = await client.get("/healthz")
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("pw_csrf="))
    assert "HttpOnly" not in cookie
    assert "SameSite=Lax" in cookie

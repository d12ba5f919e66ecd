"""First-run setup, sign-in, sign-out, password change and login throttling."""

from __future__ import annotations

from collections.abc import Callable

from tests.api_client import DEFAULT_PASSWORD, ApiClient, set_up_owner


async def test_first_run_asks_for_the_owner_then_never_again(client: ApiClient) -> None:
    assert (await client.get("/api/v1/setup")).json() == {"needs_setup": True}
    owner = await set_up_owner(client)

    me = (await client.get("/api/v1/me")).json()
    assert me["user"]["email"] == owner.email
    assert [w["role"] for w in me["workspaces"]] == ["owner"]
    assert me["current_workspace_id"] == owner.workspace_id
    assert (await client.get("/api/v1/setup")).json() == {"needs_setup": False}

    again = await client.post(
        "/api/v1/setup",
        json={
            "email": "intruder@example.com",
            "password": "x" * 12,
            "name": "I",
            "workspace_name": "Mine",
        },
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_set_up"
    login = await client.post(
        "/api/v1/auth/login", json={"email": "intruder@example.com", "password": "x" * 12}
    )
    assert login.status_code == 401


async def test_session_cookie_is_httponly_and_samesite(client: ApiClient) -> None:
    await set_up_owner(client)
    response = await client.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": DEFAULT_PASSWORD}
    )
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("pw_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie


async def test_wrong_password_is_refused_with_a_clear_error(client: ApiClient) -> None:
    await set_up_owner(client)
    await client.post("/api/v1/auth/logout")
    response = await client.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": "wrong-password"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "invalid_credentials", "message": "Email or password is wrong."}
    }
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "nobody@example.com", "password": "whatever"}
    )
    assert unknown.json() == response.json()  # no hint whether the account exists
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_logout_ends_the_session_server_side(client: ApiClient) -> None:
    await set_up_owner(client)
    stolen_cookie = client.cookies.get("pw_session")
    assert (await client.post("/api/v1/auth/logout")).status_code == 204
    assert (await client.get("/api/v1/me")).status_code == 401
    client.cookies.set("pw_session", stolen_cookie or "")
    assert (await client.get("/api/v1/me")).status_code == 401


async def test_login_is_rate_limited_after_repeated_failures(both_client: ApiClient) -> None:
    await set_up_owner(both_client)
    await both_client.post("/api/v1/auth/logout")
    for _ in range(5):
        wrong = await both_client.post(
            "/api/v1/auth/login", json={"email": "owner@example.com", "password": "nope-nope"}
        )
        assert wrong.status_code == 401
    blocked = await both_client.post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": DEFAULT_PASSWORD}
    )
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert (await both_client.get("/api/v1/me")).status_code == 401


async def test_password_change_needs_the_current_one_and_signs_out_other_browsers(
    client: ApiClient, new_client: Callable[[], ApiClient]
) -> None:
    owner = await set_up_owner(client)
    async with new_client() as other_browser:
        await other_browser.post(
            "/api/v1/auth/login", json={"email": owner.email, "password": owner.password}
        )
        assert (await other_browser.get("/api/v1/me")).status_code == 200

        wrong = await client.post(
            "/api/v1/me/password", json={"current_password": "bad", "new_password": "n" * 12}
        )
        assert wrong.status_code == 400
        assert wrong.json()["error"]["fields"] == [
            {"field": "current_password", "message": "does not match"}
        ]

        short = await client.post(
            "/api/v1/me/password",
            json={"current_password": owner.password, "new_password": "short"},
        )
        assert short.status_code == 422
        assert short.json()["error"]["fields"][0]["field"] == "new_password"

        ok = await client.post(
            "/api/v1/me/password",
            json={"current_password": owner.password, "new_password": "n" * 12},
        )
        assert ok.status_code == 204
        assert (await client.get("/api/v1/me")).status_code == 200
        assert (await other_browser.get("/api/v1/me")).status_code == 401

    await client.post("/api/v1/auth/logout")
    old = await client.post(
        "/api/v1/auth/login", json={"email": owner.email, "password": owner.password}
    )
    assert old.status_code == 401
    new = await client.post("/api/v1/auth/login", json={"email": owner.email, "password": "n" * 12})
    assert new.status_code == 200


async def test_profile_name_can_be_changed(client: ApiClient) -> None:
    await set_up_owner(client)
    response = await client.patch("/api/v1/me", json={"name": "Liv"})
    assert response.status_code == 200
    assert response.json()["user"]["name"] == "Liv"

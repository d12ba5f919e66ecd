"""Workspaces: creating, switching, inviting by link, roles and leaving."""

from __future__ import annotations

from fastapi import FastAPI

from tests.api_client import (
    ApiClient,
    create_workspace,
    invite,
    set_up_owner,
    sign_in,
    sign_up_by_invitation,
)


async def test_invitation_link_lets_a_new_person_join_with_the_given_role(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    token = await invite(client, owner.workspace_id, role="admin")
    async with ApiClient.for_app(app) as newcomer:
        preview = await newcomer.get(f"/api/v1/invitations/{token}")
        assert preview.status_code == 200
        assert preview.json()["workspace_name"] == "Acme"
        assert preview.json()["role"] == "admin"
        person = await sign_up_by_invitation(newcomer, token, "ada@example.com", "Ada")
        assert person.workspace_id == owner.workspace_id
        me = (await newcomer.get("/api/v1/me")).json()
        assert [(w["name"], w["role"]) for w in me["workspaces"]] == [("Acme", "admin")]

    members = (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/members")).json()["items"]
    assert sorted((m["email"], m["role"]) for m in members) == [
        ("ada@example.com", "admin"),
        ("owner@example.com", "owner"),
    ]
    # A used link is spent.
    async with ApiClient.for_app(app) as late:
        again = await late.get(f"/api/v1/invitations/{token}")
        assert again.status_code == 404
        assert again.json()["error"]["code"] == "invitation_invalid"


async def test_signed_in_person_accepts_and_switches_to_the_workspace(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    other_ws = await create_workspace(client, "Side project")
    token = await invite(client, other_ws, role="editor")
    async with ApiClient.for_app(app) as friend:
        await sign_up_by_invitation(
            friend, await invite(client, owner.workspace_id, role="viewer"), "fred@example.com"
        )
        accepted = await friend.post(f"/api/v1/invitations/{token}/accept", json={})
        assert accepted.status_code == 200
        assert accepted.json()["current_workspace_id"] == other_ws
        assert {w["name"] for w in accepted.json()["workspaces"]} == {"Acme", "Side project"}
        switched = await friend.patch(
            "/api/v1/me", json={"current_workspace_id": owner.workspace_id}
        )
        assert switched.json()["current_workspace_id"] == owner.workspace_id


async def test_accepting_without_account_or_signup_explains_what_to_send(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    token = await invite(client, owner.workspace_id)
    async with ApiClient.for_app(app) as stranger:
        response = await stranger.post(f"/api/v1/invitations/{token}/accept", json={})
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "signup_required"
    assert (
        len((await client.get(f"/api/v1/workspaces/{owner.workspace_id}/members")).json()["items"])
        == 1
    )


async def test_withdrawn_invitation_no_longer_works(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    created = await client.post(
        f"/api/v1/workspaces/{owner.workspace_id}/invitations", json={"role": "viewer"}
    )
    invitation_id = created.json()["invitation"]["id"]
    token = created.json()["url"].rsplit("/", 1)[1]
    listed = (await client.get(f"/api/v1/workspaces/{owner.workspace_id}/invitations")).json()[
        "items"
    ]
    assert [i["id"] for i in listed] == [invitation_id]
    assert (
        await client.delete(f"/api/v1/workspaces/{owner.workspace_id}/invitations/{invitation_id}")
    ).status_code == 204
    async with ApiClient.for_app(app) as stranger:
        assert (await stranger.get(f"/api/v1/invitations/{token}")).status_code == 404


async def test_the_last_owner_cannot_leave_or_be_demoted(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    base = f"/api/v1/workspaces/{owner.workspace_id}/members/{owner.user_id}"
    leave = await client.delete(base)
    assert leave.status_code == 409
    assert leave.json()["error"]["code"] == "last_owner"
    demote = await client.patch(base, json={"role": "editor"})
    assert demote.status_code == 409


async def test_admin_manages_members_but_cannot_touch_ownership(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    async with ApiClient.for_app(app) as admin_api, ApiClient.for_app(app) as editor_api:
        admin = await sign_up_by_invitation(
            admin_api, await invite(client, owner.workspace_id, "admin"), "adm@example.com"
        )
        editor = await sign_up_by_invitation(
            editor_api, await invite(client, owner.workspace_id, "editor"), "ed@example.com"
        )
        members = f"/api/v1/workspaces/{owner.workspace_id}/members"

        promoted = await admin_api.patch(f"{members}/{editor.user_id}", json={"role": "viewer"})
        assert promoted.status_code == 200
        assert promoted.json()["role"] == "viewer"
        assert (
            await admin_api.patch(f"{members}/{editor.user_id}", json={"role": "owner"})
        ).status_code == 403
        assert (await admin_api.delete(f"{members}/{owner.user_id}")).status_code == 403
        assert (await editor_api.delete(f"{members}/{admin.user_id}")).status_code == 403
        # Anyone may leave.
        assert (await editor_api.delete(f"{members}/{editor.user_id}")).status_code == 204
        assert (await editor_api.get(f"/api/v1/workspaces/{owner.workspace_id}")).status_code == 404
        unknown_role = await admin_api.patch(
            f"{members}/{admin.user_id}", json={"role": "superuser"}
        )
        assert unknown_role.status_code == 422
        assert unknown_role.json()["error"]["fields"][0]["field"] == "role"


async def test_invitation_for_a_named_email_is_only_for_that_person(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    created = await client.post(
        f"/api/v1/workspaces/{owner.workspace_id}/invitations",
        json={"role": "editor", "email": "named@example.com"},
    )
    token = created.json()["url"].rsplit("/", 1)[1]
    async with ApiClient.for_app(app) as someone:
        response = await someone.post(
            f"/api/v1/invitations/{token}/accept",
            json={
                "signup": {
                    "email": "other@example.com",
                    "password": "a-good-password",
                    "name": "Other",
                }
            },
        )
        assert response.status_code == 403
        assert "named@example.com" in response.json()["error"]["message"]
    # Refused means nothing was created: the other address cannot sign in.
    async with ApiClient.for_app(app) as check:
        login = await check.post(
            "/api/v1/auth/login", json={"email": "other@example.com", "password": "a-good-password"}
        )
        assert login.status_code == 401


async def test_workspaces_list_pages_with_a_cursor(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    names = ["Acme"] + [f"Project {i}" for i in range(4)]
    for name in names[1:]:
        await create_workspace(client, name)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/workspaces", params=params)).json()
        assert len(page["items"]) <= 2
        seen.extend(w["name"] for w in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    assert owner.workspace_id


async def test_sign_in_keeps_the_last_used_workspace(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    second = await create_workspace(client, "Second")
    await client.patch("/api/v1/me", json={"current_workspace_id": owner.workspace_id})
    await client.patch("/api/v1/me", json={"current_workspace_id": second})
    await client.post("/api/v1/auth/logout")
    await sign_in(client, owner)
    assert (await client.get("/api/v1/me")).json()["current_workspace_id"] == second

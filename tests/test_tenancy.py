"""Isolation: a member of workspace A can read or change nothing of workspace B, through any endpoint.

The endpoint list comes from the app itself, so endpoints added later are covered automatically."""

from __future__ import annotations

import re
import uuid

from fastapi import FastAPI

from tests.api_client import ApiClient, create_person, invite, set_up_owner, sign_in

PLACEHOLDER_BODY = {"name": "Taken over", "role": "owner"}


def url_for(path: str, workspace_id: str, **known: str) -> str:
    """`path` of an operation with the workspace and any `known` parameters filled in, and every
    other parameter a made-up UUID (access is checked before anything is looked up)."""
    url = path.replace("{workspace_id}", workspace_id)
    for name, value in known.items():
        url = url.replace(f"{{{name}}}", value)
    return re.sub(r"\{[^}/]+\}", lambda _: str(uuid.uuid4()), url)


def placeholder_body(method: str) -> dict[str, str] | None:
    """A body for the methods that take one: wrong for every endpoint, harmless if accepted."""
    return PLACEHOLDER_BODY if method in {"POST", "PATCH", "PUT"} else None


def workspace_scoped_operations(app: FastAPI) -> list[tuple[str, str]]:
    """Every documented operation whose path names a workspace (the OpenAPI lists them all)."""
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if "{workspace_id}" in path
        for method in operations
    ]


async def snapshot(api: ApiClient, workspace_id: str) -> dict[str, object]:
    base = f"/api/v1/workspaces/{workspace_id}"
    return {
        "workspace": (await api.get(base)).json(),
        "members": (await api.get(f"{base}/members")).json(),
        "invitations": (await api.get(f"{base}/invitations")).json(),
    }


async def test_a_member_of_one_workspace_cannot_touch_another(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    victim = await set_up_owner(both_client, email="bob@example.com", workspace="Bob's shop")
    await invite(both_client, victim.workspace_id)  # something to protect
    before = await snapshot(both_client, victim.workspace_id)
    victim_member_ids = [m["user_id"] for m in before["members"]["items"]]  # type: ignore[index]

    attacker = await create_person(both_app, "alice@example.com", "Alice's agency")
    operations = workspace_scoped_operations(both_app)
    assert len(operations) >= 8, "the route list should include every workspace endpoint"
    async with ApiClient.for_app(both_app) as alice:
        await sign_in(alice, attacker)
        for method, path in operations:
            url = url_for(path, victim.workspace_id, user_id=victim_member_ids[0])
            response = await alice.request(method, url, json=placeholder_body(method))
            assert response.status_code == 404, (
                f"{method} {path} answered {response.status_code}: {response.text}"
            )
            assert response.json()["error"]["code"] == "not_found"

        listed = (await alice.get("/api/v1/workspaces")).json()["items"]
        assert [w["id"] for w in listed] == [attacker.workspace_id]
        switch = await alice.patch("/api/v1/me", json={"current_workspace_id": victim.workspace_id})
        assert switch.status_code == 404

        # Token ids are per user, too.
        bob_token = (await both_client.post("/api/v1/me/tokens", json={"name": "bob's"})).json()[
            "token"
        ]["id"]
        assert (await alice.delete(f"/api/v1/me/tokens/{bob_token}")).status_code == 404

    assert await snapshot(both_client, victim.workspace_id) == before
    assert len((await both_client.get("/api/v1/me/tokens")).json()["items"]) == 1


async def test_viewer_can_read_but_not_change(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    token = await invite(client, owner.workspace_id, role="viewer")
    async with ApiClient.for_app(app) as viewer:
        joined = await viewer.post(
            f"/api/v1/invitations/{token}/accept",
            json={
                "signup": {"email": "vic@example.com", "password": "viewer-password", "name": "Vic"}
            },
        )
        assert joined.status_code == 200
        assert (
            await viewer.get(f"/api/v1/workspaces/{owner.workspace_id}/members")
        ).status_code == 200
        rename = await viewer.patch(
            f"/api/v1/workspaces/{owner.workspace_id}", json={"name": "Mine now"}
        )
        assert rename.status_code == 403
        assert "admin role or higher" in rename.json()["error"]["message"]
        assert (
            await viewer.post(f"/api/v1/workspaces/{owner.workspace_id}/invitations", json={})
        ).status_code == 403
    assert (await client.get(f"/api/v1/workspaces/{owner.workspace_id}")).json()["name"] == "Acme"

"""Social accounts: sandbox accounts, timezones and weekly posting slots."""

from __future__ import annotations

from fastapi import FastAPI

from tests.api_client import (
    ApiClient,
    add_sandbox_account,
    invite,
    set_up_owner,
    sign_up_by_invitation,
)


async def test_sandbox_account_with_slots_and_timezone(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    base = f"/api/v1/workspaces/{owner.workspace_id}/accounts"
    account_id = await add_sandbox_account(
        client, owner.workspace_id, "bakery", timezone="Europe/Berlin"
    )
    updated = await client.patch(
        f"{base}/{account_id}",
        json={
            "slots": [
                {"weekday": 2, "time": "17:00"},
                {"weekday": 0, "time": "09:30"},
                {"weekday": 0, "time": "09:30"},
            ]
        },
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["slots"] == [
        {"weekday": 0, "time": "09:30"},
        {"weekday": 2, "time": "17:00"},
    ]
    listed = (await client.get(base)).json()["items"]
    assert [(a["network"], a["handle"], a["timezone"]) for a in listed] == [
        ("sandbox", "bakery", "Europe/Berlin")
    ]


async def test_bad_account_input_names_the_field(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    base = f"/api/v1/workspaces/{owner.workspace_id}/accounts"
    zone = await client.post(
        f"{base}/sandbox", json={"display_name": "X", "handle": "x", "timezone": "Berlin"}
    )
    assert zone.status_code == 422
    assert zone.json()["error"]["fields"][0]["field"] == "timezone"
    assert "Europe/Berlin" in zone.json()["error"]["message"]
    account_id = await add_sandbox_account(client, owner.workspace_id, "ok")
    for slot, field in [
        ({"weekday": 7, "time": "09:00"}, "slots.0.weekday"),
        ({"weekday": 1, "time": "25:00"}, "slots.0.time"),
    ]:
        response = await client.patch(f"{base}/{account_id}", json={"slots": [slot]})
        assert response.status_code == 422
        assert response.json()["error"]["fields"][0]["field"] == field
    assert (await client.get(f"{base}/{account_id}")).json()["slots"] == []


async def test_editors_cannot_connect_or_remove_accounts(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account_id = await add_sandbox_account(client, owner.workspace_id, "brand")
    async with ApiClient.for_app(app) as editor:
        await sign_up_by_invitation(
            editor, await invite(client, owner.workspace_id, "editor"), "ed@example.com"
        )
        base = f"/api/v1/workspaces/{owner.workspace_id}/accounts"
        assert (await editor.get(base)).status_code == 200
        assert (
            await editor.post(f"{base}/sandbox", json={"display_name": "E", "handle": "e"})
        ).status_code == 403
        assert (await editor.delete(f"{base}/{account_id}")).status_code == 403
    assert (
        await client.delete(f"/api/v1/workspaces/{owner.workspace_id}/accounts/{account_id}")
    ).status_code == 204

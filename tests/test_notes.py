"""The notes board through its HTTP API: columns, notes, moves, search, roles, bad input, and a
note following the post it became through scheduling and publishing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from tests.api_client import (
    ApiClient,
    add_sandbox_account,
    invite,
    set_up_owner,
    sign_up_by_invitation,
)
from tests.test_dispatcher import Clock, make_dispatcher, run_round


def notes_url(workspace_id: str) -> str:
    return f"/api/v1/workspaces/{workspace_id}/notes"


async def columns(api: ApiClient, workspace_id: str) -> list[dict]:  # type: ignore[type-arg]
    response = await api.get(f"{notes_url(workspace_id)}/columns")
    assert response.status_code == 200, response.text
    answer: list[dict] = response.json()  # type: ignore[type-arg]
    return answer


async def create_note(api: ApiClient, workspace_id: str, **body: object) -> dict:  # type: ignore[type-arg]
    response = await api.post(notes_url(workspace_id), json={"title": "An idea", **body})
    assert response.status_code == 201, response.text
    note: dict = response.json()  # type: ignore[type-arg]
    return note


async def column_titles(api: ApiClient, workspace_id: str, column_id: str) -> list[str]:
    response = await api.get(notes_url(workspace_id), params={"column_id": column_id})
    notes = sorted(response.json()["items"], key=lambda n: n["position"])
    return [n["title"] for n in notes]


async def test_a_new_board_has_the_four_default_columns(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    board = await columns(client, owner.workspace_id)
    assert [(c["name"], c["stage"], c["note_count"]) for c in board] == [
        ("Idea", "idea", 0),
        ("Drafting", "drafting", 0),
        ("Scheduled", "scheduled", 0),
        ("Done", "done", 0),
    ]
    assert await columns(client, owner.workspace_id) == board  # made once


async def test_note_crud_with_checklist_counts_tags_and_extra_fields(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    url = notes_url(owner.workspace_id)
    note = await create_note(
        client,
        owner.workspace_id,
        title="Spring menu",
        body="Ideas:\n- [x] photos\n- [ ] prices\n* [X] captions\n- not a task",
        tags=["menu", " spring ", "menu"],
        links=["https://example.com/menu"],
        extra={"priority": 2},
    )
    idea = (await columns(client, owner.workspace_id))[0]
    assert note["column_id"] == idea["id"]
    assert note["checklist"] == {"done": 2, "total": 3}
    assert note["tags"] == ["menu", "spring"]
    assert note["links"] == ["https://example.com/menu"]
    assert note["extra"] == {"priority": 2}
    assert note["post_id"] is None

    changed = await client.patch(f"{url}/{note['id']}", json={"body": "- [x] done"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["checklist"] == {"done": 1, "total": 1}
    assert changed.json()["title"] == "Spring menu"
    assert (await client.get(f"{url}/{note['id']}")).json()["body"] == "- [x] done"

    assert (await client.delete(f"{url}/{note['id']}")).status_code == 204
    assert (await client.get(f"{url}/{note['id']}")).status_code == 404


async def test_bad_input_is_422_naming_the_field(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    url = notes_url(owner.workspace_id)
    cases = [
        ({"title": ""}, "title"),
        ({"title": "x", "extra": {"blob": "x" * 5000}}, "extra"),
        ({"title": "x", "tags": ["t" * 51]}, "tags"),
        ({"title": "x", "links": ["not a url"]}, "links.0"),
        ({"title": "x", "media_ids": ["0190b2c4-0000-7000-8000-000000000000"]}, "media_ids.0"),
        ({"title": "x", "column_id": "0190b2c4-0000-7000-8000-000000000000"}, "column_id"),
        ({"title": "x", "colour": "red"}, "colour"),
    ]
    for body, field in cases:
        response = await client.post(url, json=body)
        assert response.status_code == 422, (body, response.text)
        fields = [f["field"] for f in response.json()["error"]["fields"]]
        assert any(f.endswith(field) for f in fields), (body, fields)
    note = await create_note(client, owner.workspace_id)
    response = await client.post(
        f"{url}/{note['id']}/move", json={"column_id": note["column_id"], "position": -1}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"].endswith("position")


async def test_drag_and_drop_within_and_between_columns(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    url = notes_url(owner.workspace_id)
    idea, drafting, *_ = await columns(client, owner.workspace_id)
    a, b, c = [await create_note(client, owner.workspace_id, title=t) for t in "ABC"]
    assert await column_titles(client, owner.workspace_id, idea["id"]) == ["A", "B", "C"]

    moved = await client.post(
        f"{url}/{c['id']}/move", json={"column_id": idea["id"], "position": 0}
    )
    assert moved.status_code == 200, moved.text
    assert await column_titles(client, owner.workspace_id, idea["id"]) == ["C", "A", "B"]

    await client.post(f"{url}/{a['id']}/move", json={"column_id": drafting["id"], "position": 5})
    await client.post(f"{url}/{b['id']}/move", json={"column_id": drafting["id"], "position": 0})
    assert await column_titles(client, owner.workspace_id, idea["id"]) == ["C"]
    assert await column_titles(client, owner.workspace_id, drafting["id"]) == ["B", "A"]
    counts = {col["name"]: col["note_count"] for col in await columns(client, owner.workspace_id)}
    assert counts == {"Idea": 1, "Drafting": 2, "Scheduled": 0, "Done": 0}


async def test_columns_are_renamed_added_reordered_and_removed_only_when_empty(
    client: ApiClient,
) -> None:
    owner = await set_up_owner(client)
    url = f"{notes_url(owner.workspace_id)}/columns"
    idea = (await columns(client, owner.workspace_id))[0]
    renamed = await client.patch(f"{url}/{idea['id']}", json={"name": "Inbox"})
    assert renamed.json()["name"] == "Inbox"
    assert renamed.json()["stage"] == "idea"

    review = await client.post(url, json={"name": "Review"})
    assert review.status_code == 201, review.text
    assert review.json()["position"] == 4
    await client.patch(f"{url}/{review.json()['id']}", json={"position": 1})
    assert [c["name"] for c in await columns(client, owner.workspace_id)] == [
        "Inbox",
        "Review",
        "Drafting",
        "Scheduled",
        "Done",
    ]

    await create_note(client, owner.workspace_id, column_id=review.json()["id"])
    refused = await client.delete(f"{url}/{review.json()['id']}")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "column_not_empty"
    assert (await client.delete(f"{url}/{idea['id']}")).status_code == 204
    assert [c["position"] for c in await columns(client, owner.workspace_id)] == [0, 1, 2, 3]
    assert (await client.post(url, json={"name": ""})).status_code == 422


async def test_search_matches_title_body_and_tags_and_pages(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    url = notes_url(owner.workspace_id)
    await create_note(client, owner.workspace_id, title="Sourdough launch")
    await create_note(client, owner.workspace_id, title="Other", body="bake more SOURDOUGH")
    await create_note(client, owner.workspace_id, title="Tagged", tags=["sourdough-week"])
    await create_note(client, owner.workspace_id, title="Unrelated 100%")

    found = (await client.get(url, params={"q": "sourdough"})).json()["items"]
    assert sorted(n["title"] for n in found) == ["Other", "Sourdough launch", "Tagged"]
    assert [n["title"] for n in (await client.get(url, params={"q": "0%"})).json()["items"]] == [
        "Unrelated 100%"
    ]
    assert (await client.get(url, params={"q": "_"})).json()["items"] == []

    first = (await client.get(url, params={"limit": 3})).json()
    assert len(first["items"]) == 3
    assert first["next_cursor"]
    rest = (await client.get(url, params={"limit": 3, "cursor": first["next_cursor"]})).json()
    assert len(rest["items"]) == 1
    assert rest["next_cursor"] is None


async def test_viewers_read_editors_write(client: ApiClient, app: FastAPI) -> None:
    owner = await set_up_owner(client)
    url = notes_url(owner.workspace_id)
    note = await create_note(client, owner.workspace_id)
    viewer_token = await invite(client, owner.workspace_id, "viewer")
    editor_token = await invite(client, owner.workspace_id, "editor")

    async with ApiClient.for_app(app) as viewer:
        await sign_up_by_invitation(viewer, viewer_token, "viewer@example.com")
        assert (await viewer.get(url)).status_code == 200
        assert (await viewer.get(f"{url}/columns")).status_code == 200
        assert (await viewer.post(url, json={"title": "no"})).status_code == 403
        assert (await viewer.patch(f"{url}/{note['id']}", json={"title": "no"})).status_code == 403
        assert (await viewer.post(f"{url}/{note['id']}/post", json={})).status_code == 403
    async with ApiClient.for_app(app) as editor:
        await sign_up_by_invitation(editor, editor_token, "editor@example.com")
        assert (await editor.patch(f"{url}/{note['id']}", json={"title": "yes"})).status_code == 200
        turned = await editor.post(f"{url}/{note['id']}/post", json={})
        assert turned.status_code == 201, turned.text


async def test_a_note_follows_its_post_from_draft_to_scheduled_to_done(
    both_app: FastAPI, both_client: ApiClient
) -> None:
    api = both_client
    owner = await set_up_owner(api)
    account = await add_sandbox_account(api, owner.workspace_id, "bakery")
    url = notes_url(owner.workspace_id)
    stage_of = {c["id"]: c["stage"] for c in await columns(api, owner.workspace_id)}
    note = await create_note(
        api, owner.workspace_id, title="Croissants", body="Fresh croissants at 7!", tags=["bread"]
    )

    turned = await api.post(f"{url}/{note['id']}/post", json={"account_ids": [account]})
    assert turned.status_code == 201, turned.text
    post_id = turned.json()["post_id"]
    assert stage_of[turned.json()["note"]["column_id"]] == "drafting"
    assert turned.json()["note"]["post_status"] == "draft"
    post = (await api.get(f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}")).json()
    assert post["text"] == "Fresh croissants at 7!"
    assert post["labels"] == ["bread"]
    again = await api.post(f"{url}/{note['id']}/post", json={})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_a_post"

    when = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    scheduled = await api.post(
        f"/api/v1/workspaces/{owner.workspace_id}/posts/{post_id}/schedule",
        json={"at": when.isoformat()},
    )
    assert scheduled.status_code == 200, scheduled.text
    now = (await api.get(f"{url}/{note['id']}")).json()
    assert (stage_of[now["column_id"]], now["post_status"]) == ("scheduled", "scheduled")

    dispatcher = make_dispatcher(both_app, Clock(when))
    assert await run_round(dispatcher) == 1
    await dispatcher.settle_posts()
    now = (await api.get(f"{url}/{note['id']}")).json()
    assert (stage_of[now["column_id"]], now["post_status"]) == ("done", "published")

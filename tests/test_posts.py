"""Posts through the API: content and targets, every state transition, limits, time and queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI

from tests.api_client import (
    ApiClient,
    Person,
    add_sandbox_account,
    connect_account,
    create_person,
    invite,
    set_up_owner,
    sign_up_by_invitation,
)

NEXT_YEAR = datetime.now(UTC).year + 1


def posts_url(person: Person) -> str:
    return f"/api/v1/workspaces/{person.workspace_id}/posts"


async def draft(
    api: ApiClient,
    owner: Person,
    targets: list[str],
    text: str = "Fresh bread at 7!",
    **extra: object,
) -> dict:
    body = {"text": text, "targets": [{"account_id": a} for a in targets], **extra}
    response = await api.post(posts_url(owner), json=body)
    assert response.status_code == 201, response.text
    post: dict = response.json()
    return post


async def test_a_post_for_two_accounts_with_a_per_target_override(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    first = await add_sandbox_account(client, owner.workspace_id, "bakery")
    second = await add_sandbox_account(client, owner.workspace_id, "cafe")
    body = {
        "text": "Base text",
        "link": "https://example.com/menu",
        "labels": ["menu", "menu", " launch "],
        "campaign": "Autumn",
        "targets": [
            {"account_id": first},
            {"account_id": second, "text": "Cafe text", "options": {"first_comment": "#coffee"}},
        ],
    }
    created = await client.post(posts_url(owner), json=body)
    assert created.status_code == 201, created.text
    post = created.json()
    assert post["status"] == "draft"
    assert post["labels"] == ["menu", "launch"]
    assert [(t["account_name"], t["text"]) for t in post["targets"]] == [
        ("Bakery", None),
        ("Cafe", "Cafe text"),
    ]
    assert post["targets"][1]["options"] == {"first_comment": "#coffee"}
    fetched = await client.get(f"{posts_url(owner)}/{post['id']}")
    assert fetched.json() == post


async def test_targets_must_be_accounts_of_the_workspace(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    stranger = await create_person(app, "s@example.com", "Elsewhere")
    foreign = await connect_account(app, stranger.workspace_id, "mastodon", "foreign")
    mine = await add_sandbox_account(client, owner.workspace_id, "mine")
    response = await client.post(
        posts_url(owner),
        json={"text": "hi", "targets": [{"account_id": mine}, {"account_id": foreign}]},
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"field": "targets.1.account_id", "message": "not an account of this workspace"}
    ]
    twice = await client.post(
        posts_url(owner),
        json={"text": "hi", "targets": [{"account_id": mine}, {"account_id": mine}]},
    )
    assert twice.status_code == 422
    assert (await client.get(posts_url(owner))).json()["items"] == []


async def test_owner_schedules_at_a_local_time_stored_in_utc(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post = await draft(client, owner, [account])
    response = await client.post(
        f"{posts_url(owner)}/{post['id']}/schedule",
        json={"at": f"{NEXT_YEAR}-07-01T09:30:00", "timezone": "Europe/Berlin"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["scheduled_at"] == f"{NEXT_YEAR}-07-01T07:30:00Z"
    assert response.json()["post"]["status"] == "scheduled"
    assert response.json()["post"]["schedule_timezone"] == "Europe/Berlin"
    winter = await draft(client, owner, [account])
    answer = await client.post(
        f"{posts_url(owner)}/{winter['id']}/schedule",
        json={"at": f"{NEXT_YEAR}-01-15T09:30:00", "timezone": "Europe/Berlin"},
    )
    assert answer.json()["scheduled_at"] == f"{NEXT_YEAR}-01-15T08:30:00Z"


async def test_scheduling_refuses_the_past_and_ambiguous_requests(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post = await draft(client, owner, [account])
    url = f"{posts_url(owner)}/{post['id']}/schedule"
    past = await client.post(url, json={"at": "2020-01-01T09:00:00", "timezone": "UTC"})
    assert past.status_code == 400
    assert past.json()["error"]["code"] == "time_in_past"
    both = await client.post(url, json={"now": True, "queue": True})
    assert both.status_code == 422
    no_zone = await client.post(url, json={"at": f"{NEXT_YEAR}-01-01T09:00:00"})
    assert no_zone.status_code == 422
    assert "timezone" in no_zone.json()["error"]["message"]
    assert (await client.get(f"{posts_url(owner)}/{post['id']}")).json()["status"] == "draft"


async def test_post_now_and_cancel(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post = await draft(client, owner, [account])
    now = await client.post(f"{posts_url(owner)}/{post['id']}/schedule", json={"now": True})
    assert now.status_code == 200
    scheduled_at = datetime.fromisoformat(now.json()["scheduled_at"])
    assert abs(scheduled_at - datetime.now(UTC)) < timedelta(seconds=10)
    cancelled = await client.post(f"{posts_url(owner)}/{post['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    again = await client.post(f"{posts_url(owner)}/{post['id']}/schedule", json={"now": True})
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "invalid_state",
        "message": "A cancelled post cannot be scheduled.",
    }
    assert (await client.delete(f"{posts_url(owner)}/{post['id']}")).status_code == 204


async def test_post_without_targets_cannot_be_scheduled(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    post = await draft(client, owner, [])
    response = await client.post(f"{posts_url(owner)}/{post['id']}/schedule", json={"now": True})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_targets"


async def test_editor_needs_approval_and_admin_reviews(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    async with ApiClient.for_app(app) as editor_api:
        await sign_up_by_invitation(
            editor_api, await invite(client, owner.workspace_id, "editor"), "ed@example.com"
        )
        post = await draft(editor_api, owner, [account])
        url = f"{posts_url(owner)}/{post['id']}"
        refused = await editor_api.post(f"{url}/schedule", json={"now": True})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "approval_required"

        assert (await editor_api.post(f"{url}/submit")).json()["status"] == "pending_approval"
        assert (await editor_api.post(f"{url}/approve", json={})).status_code == 403
        inbox = (await client.get(posts_url(owner), params={"status": "pending_approval"})).json()[
            "items"
        ]
        assert [p["id"] for p in inbox] == [post["id"]]

        no_reason = await client.post(f"{url}/reject", json={})
        assert no_reason.status_code == 422
        rejected = await client.post(f"{url}/reject", json={"comment": "Add the opening hours"})
        assert rejected.json()["status"] == "draft"
        comments = (await editor_api.get(f"{url}/comments")).json()
        assert [c["body"] for c in comments] == ["Add the opening hours"]

        await editor_api.put(
            url,
            json={"text": "Fresh bread at 7, open till 6", "targets": [{"account_id": account}]},
        )
        await editor_api.post(f"{url}/submit")
        assert (await client.post(f"{url}/approve", json={"comment": "Lovely"})).json()[
            "status"
        ] == "approved"
        # Changing an approved post sends it back for approval.
        await editor_api.put(
            url, json={"text": "Changed after approval", "targets": [{"account_id": account}]}
        )
        assert (await editor_api.get(url)).json()["status"] == "draft"
        await editor_api.post(f"{url}/submit")
        await client.post(f"{url}/approve", json={})
        scheduled = await editor_api.post(
            f"{url}/schedule", json={"at": f"{NEXT_YEAR}-03-03T10:00:00+01:00"}
        )
        assert scheduled.status_code == 200, scheduled.text
        assert scheduled.json()["scheduled_at"] == f"{NEXT_YEAR}-03-03T09:00:00Z"
        edit = await editor_api.put(
            url, json={"text": "sneaky", "targets": [{"account_id": account}]}
        )
        assert edit.status_code == 403

    history = (
        await client.get(
            f"/api/v1/workspaces/{owner.workspace_id}/activity", params={"post_id": post["id"]}
        )
    ).json()
    types = [event["type"] for event in history["items"]]
    assert types[0] == "post.created"
    assert types.count("post.submitted") == 3
    assert "post.rejected" in types
    assert types[-1] == "post.scheduled"


async def test_viewer_cannot_write_posts(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    async with ApiClient.for_app(app) as viewer:
        await sign_up_by_invitation(
            viewer, await invite(client, owner.workspace_id, "viewer"), "v@example.com"
        )
        assert (
            await viewer.post(
                posts_url(owner), json={"text": "x", "targets": [{"account_id": account}]}
            )
        ).status_code == 403
        assert (await viewer.get(posts_url(owner))).status_code == 200


async def test_limits_are_checked_per_network_before_scheduling(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    x = await connect_account(app, owner.workspace_id, "x", "bakery_x")
    bluesky = await connect_account(app, owner.workspace_id, "bluesky", "bakery.bsky.social")
    # 299 characters: fine for Bluesky (300), too long for X (280)
    text = ("Our sourdough is back! " * 13).strip() + "!"
    assert len(text) == 299
    post = await draft(client, owner, [bluesky, x], text=text)
    check = (
        await client.post(
            f"{posts_url(owner)}/check",
            json={"text": text, "targets": [{"account_id": bluesky}, {"account_id": x}]},
        )
    ).json()
    assert check["ok"] is False
    assert [(t["network"], t["text_length"]) for t in check["targets"]] == [
        ("bluesky", {"count": 299, "limit": 300}),
        ("x", {"count": 299, "limit": 280}),
    ]
    assert check["targets"][0]["violations"] == []
    assert check["targets"][1]["violations"][0]["rule"] == "text_too_long"

    refused = await client.post(f"{posts_url(owner)}/{post['id']}/schedule", json={"now": True})
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "limit_exceeded"
    assert "bakery_x (X)" in error["message"]
    assert "299" in error["message"]
    assert "280" in error["message"]
    assert [f["field"] for f in error["fields"]] == ["targets.1"]

    # A shorter text just for X fixes it.
    fixed = await client.put(
        f"{posts_url(owner)}/{post['id']}",
        json={
            "text": text,
            "targets": [{"account_id": bluesky}, {"account_id": x, "text": "Sourdough is back!"}],
        },
    )
    assert fixed.status_code == 200
    assert (
        await client.post(f"{posts_url(owner)}/{post['id']}/schedule", json={"now": True})
    ).status_code == 200


async def test_mastodon_instance_limit_overrides_the_default(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    roomy = await connect_account(
        app, owner.workspace_id, "mastodon", "roomy", limit_overrides={"max_characters": 1000}
    )
    default = await connect_account(app, owner.workspace_id, "mastodon", "default")
    text = "a" * 700
    check = (
        await client.post(
            f"{posts_url(owner)}/check",
            json={"text": text, "targets": [{"account_id": roomy}, {"account_id": default}]},
        )
    ).json()
    assert [t["text_length"]["limit"] for t in check["targets"]] == [1000, 500]
    assert [bool(t["violations"]) for t in check["targets"]] == [False, True]


async def test_editing_a_scheduled_post_past_a_limit_is_refused_and_changes_nothing(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    x = await connect_account(app, owner.workspace_id, "x", "bakery_x")
    post = await draft(client, owner, [x], text="Short and sweet")
    await client.post(
        f"{posts_url(owner)}/{post['id']}/schedule", json={"at": f"{NEXT_YEAR}-05-05T10:00:00Z"}
    )
    response = await client.put(
        f"{posts_url(owner)}/{post['id']}", json={"text": "y" * 400, "targets": [{"account_id": x}]}
    )
    assert response.status_code == 422
    after = (await client.get(f"{posts_url(owner)}/{post['id']}")).json()
    assert after["text"] == "Short and sweet"
    assert after["status"] == "scheduled"


async def test_add_to_queue_takes_the_next_free_slot(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(
        client, owner.workspace_id, "bakery", timezone="America/New_York"
    )
    slots = [{"weekday": day, "time": "08:00"} for day in range(7)]
    await client.patch(
        f"/api/v1/workspaces/{owner.workspace_id}/accounts/{account}", json={"slots": slots}
    )
    times = []
    for _ in range(3):
        post = await draft(client, owner, [account])
        answer = await client.post(
            f"{posts_url(owner)}/{post['id']}/schedule", json={"queue": True}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["slot_account_id"] == account
        times.append(datetime.fromisoformat(answer.json()["scheduled_at"]))
    assert times == sorted(times)
    assert len(set(times)) == 3
    for moment in times:
        local = moment.astimezone(__import__("zoneinfo").ZoneInfo("America/New_York"))
        assert (local.hour, local.minute) == (8, 0)
    assert times[1] - times[0] == timedelta(days=1) or times[1] - times[0] in {
        timedelta(hours=23),
        timedelta(hours=25),
    }


async def test_add_to_queue_without_slots_says_what_to_do(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post = await draft(client, owner, [account])
    response = await client.post(f"{posts_url(owner)}/{post['id']}/schedule", json={"queue": True})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_free_slot"


@pytest.mark.parametrize("field", ["status", "network"])
async def test_unknown_filter_values_are_rejected(client: ApiClient, field: str) -> None:
    owner = await set_up_owner(client)
    response = await client.get(posts_url(owner), params={field: "bogus"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["field"].startswith(field)


async def test_list_filters_and_search(both_client: ApiClient, both_app: FastAPI) -> None:
    owner = await set_up_owner(both_client)
    sandbox = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    mastodon = await connect_account(both_app, owner.workspace_id, "mastodon", "bakery_social")
    await draft(both_client, owner, [sandbox], text="Croissants 100% butter", labels=["pastry"])
    await draft(
        both_client, owner, [mastodon], text="Sourdough_loaf news", labels=["bread", "pastry"]
    )
    await draft(both_client, owner, [sandbox, mastodon], text="Opening hours", labels=["info"])

    async def texts(**params: object) -> list[str]:
        response = await both_client.get(posts_url(owner), params=params)
        assert response.status_code == 200, response.text
        return [p["text"] for p in response.json()["items"]]

    assert await texts(network="mastodon") == ["Sourdough_loaf news", "Opening hours"]
    assert await texts(account_id=sandbox) == ["Croissants 100% butter", "Opening hours"]
    assert await texts(label="pastry") == ["Croissants 100% butter", "Sourdough_loaf news"]
    assert await texts(q="100%") == ["Croissants 100% butter"]
    assert await texts(q="dough_l") == ["Sourdough_loaf news"]
    assert await texts(q="OPENING") == ["Opening hours"]


async def test_calendar_returns_posts_in_range_in_time_order(both_client: ApiClient) -> None:
    owner = await set_up_owner(both_client)
    account = await add_sandbox_account(both_client, owner.workspace_id, "bakery")
    for day in (20, 3, 11):
        post = await draft(both_client, owner, [account], text=f"Day {day}")
        await both_client.post(
            f"{posts_url(owner)}/{post['id']}/schedule",
            json={"at": f"{NEXT_YEAR}-06-{day:02d}T12:00:00Z"},
        )
    await draft(both_client, owner, [account], text="unscheduled draft")
    calendar = f"/api/v1/workspaces/{owner.workspace_id}/calendar"
    june = await both_client.get(
        calendar,
        params={"start": f"{NEXT_YEAR}-06-01T00:00:00Z", "end": f"{NEXT_YEAR}-07-01T00:00:00Z"},
    )
    assert june.status_code == 200, june.text
    assert [p["text"] for p in june.json()["items"]] == ["Day 3", "Day 11", "Day 20"]
    assert june.json()["truncated"] is False
    week = await both_client.get(
        calendar,
        params={
            "start": f"{NEXT_YEAR}-06-08T00:00:00+02:00",
            "end": f"{NEXT_YEAR}-06-15T00:00:00+02:00",
        },
    )
    assert [p["text"] for p in week.json()["items"]] == ["Day 11"]
    bad = await both_client.get(
        calendar,
        params={"start": f"{NEXT_YEAR}-06-01T00:00:00Z", "end": f"{NEXT_YEAR}-12-01T00:00:00Z"},
    )
    assert bad.status_code == 400
    naive = await both_client.get(
        calendar,
        params={"start": f"{NEXT_YEAR}-06-01T00:00:00", "end": f"{NEXT_YEAR}-06-02T00:00:00"},
    )
    assert naive.status_code == 422


async def test_recurring_post_keeps_its_local_time_across_dst(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post = await draft(client, owner, [account])
    # Europe's clocks go forward on the last Sunday of March; start on the Monday before it.
    march_31 = datetime(NEXT_YEAR, 3, 31)
    last_sunday = march_31 - timedelta(days=(march_31.weekday() + 1) % 7)
    monday_before = (last_sunday - timedelta(days=6)).date()
    response = await client.post(
        f"{posts_url(owner)}/{post['id']}/schedule",
        json={
            "at": f"{monday_before}T09:00:00",
            "timezone": "Europe/Berlin",
            "recurrence": "rrule:freq=weekly;byday=mo;count=4",
        },
    )
    assert response.status_code == 200, response.text
    scheduled = response.json()["post"]
    assert scheduled["recurrence_rule"] == "FREQ=WEEKLY;BYDAY=MO;COUNT=4"
    upcoming = [datetime.fromisoformat(t) for t in scheduled["upcoming"]]
    assert len(upcoming) == 4
    berlin = __import__("zoneinfo").ZoneInfo("Europe/Berlin")
    assert {(t.astimezone(berlin).weekday(), t.astimezone(berlin).hour) for t in upcoming} == {
        (0, 9)
    }
    # 08:00 UTC before the change, 07:00 UTC after it.
    assert {t.hour for t in upcoming} == {8, 7}


async def test_bad_recurrence_rules_are_explained(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post = await draft(client, owner, [account])
    url = f"{posts_url(owner)}/{post['id']}/schedule"
    bad = await client.post(
        url, json={"at": f"{NEXT_YEAR}-03-23T09:00:00Z", "recurrence": "FREQ=SOMETIMES"}
    )
    assert bad.status_code == 422
    assert "FREQ" in bad.json()["error"]["message"]
    now = await client.post(url, json={"now": True, "recurrence": "FREQ=DAILY"})
    assert now.status_code == 422
    assert (await client.get(f"{posts_url(owner)}/{post['id']}")).json()["status"] == "draft"


TEXT_LIMITS = {
    "sandbox": 500,
    "mastodon": 500,
    "bluesky": 300,
    "x": 280,
    "facebook": 63206,
    "threads": 500,
    "linkedin": 3000,
    "telegram": 4096,
    "discord": 2000,
}


@pytest.mark.parametrize(("network", "limit"), sorted(TEXT_LIMITS.items()))
async def test_each_networks_text_limit_through_the_api(
    app: FastAPI, client: ApiClient, network: str, limit: int
) -> None:
    owner = await set_up_owner(client)
    account = await connect_account(app, owner.workspace_id, network, f"acct_{network}")
    at_limit = await client.post(
        f"{posts_url(owner)}/check",
        json={"text": "a" * limit, "targets": [{"account_id": account}]},
    )
    assert at_limit.json()["ok"] is True, at_limit.text
    over = await client.post(
        f"{posts_url(owner)}/check",
        json={"text": "a" * (limit + 1), "targets": [{"account_id": account}]},
    )
    target = over.json()["targets"][0]
    assert target["text_length"] == {"count": limit + 1, "limit": limit}
    assert [v["rule"] for v in target["violations"]] == ["text_too_long"]


async def test_instagram_needs_media(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await connect_account(app, owner.workspace_id, "instagram", "bakery_ig")
    check = (
        await client.post(
            f"{posts_url(owner)}/check",
            json={"text": "No picture", "targets": [{"account_id": account}]},
        )
    ).json()
    assert [v["rule"] for v in check["targets"][0]["violations"]] == ["media_required"]


async def test_unschedule_returns_a_post_to_draft(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post = await draft(client, owner, [account])
    url = f"{posts_url(owner)}/{post['id']}"
    await client.post(f"{url}/schedule", json={"at": f"{NEXT_YEAR}-05-05T10:00:00Z"})
    back = await client.post(f"{url}/unschedule")
    assert back.status_code == 200
    assert (back.json()["status"], back.json()["scheduled_at"]) == ("draft", None)
    again = await client.post(f"{url}/unschedule")
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "A draft post cannot be unscheduled."


async def test_rescheduling_keeps_repetition_and_editors_cannot_move_scheduled_posts(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    post = await draft(client, owner, [account])
    url = f"{posts_url(owner)}/{post['id']}"
    first = {
        "at": f"{NEXT_YEAR}-05-04T10:00:00Z",
        "recurrence": "FREQ=WEEKLY",
        "evergreen_every_days": 30,
    }
    assert (await client.post(f"{url}/schedule", json=first)).status_code == 200
    moved = await client.post(f"{url}/schedule", json={"at": f"{NEXT_YEAR}-05-05T10:00:00Z"})
    assert moved.status_code == 200
    assert (
        moved.json()["post"]["recurrence_rule"],
        moved.json()["post"]["evergreen_every_days"],
    ) == ("FREQ=WEEKLY", 30)
    async with ApiClient.for_app(app) as editor:
        await sign_up_by_invitation(
            editor, await invite(client, owner.workspace_id, "editor"), "ed@example.com"
        )
        refused = await editor.post(f"{url}/schedule", json={"at": f"{NEXT_YEAR}-05-06T10:00:00Z"})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "admin_required"

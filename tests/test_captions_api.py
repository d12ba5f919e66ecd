"""The captions API over HTTP: generate (whole and streamed) with the offline assistant and with
a workspace's or the instance's model server (a local fake), fitting per account, settings whose
API key never comes back, connection tests, history and feedback, bad input."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from postwizard.api.resources import resources_of
from postwizard.captions.models import CaptionSettings
from postwizard.config import Settings
from postwizard.platforms.limits import check
from postwizard.platforms.networks import Network
from postwizard.posts.models import Post, PostStatus
from tests.api_client import (
    ApiClient,
    Person,
    add_sandbox_account,
    connect_account,
    invite,
    set_up_owner,
    sign_up_by_invitation,
)
from tests.fakes.openai_compatible import FakeModelServer
from tests.support.services import free_port
from tests.support.serving import serving

BRIEF = {
    "topic": "new sourdough workshop for beginners starts Saturday at the bakery on Main Street",
    "audience": "home bakers",
    "tone": "friendly",
    "link": "https://example.com/workshops/sourdough",
    "hashtags": 3,
}


def captions(person: Person) -> str:
    return f"/api/v1/workspaces/{person.workspace_id}/captions"


@pytest.fixture
def fake() -> FakeModelServer:
    return FakeModelServer()


@pytest.fixture
def model_url(fake: FakeModelServer) -> Iterator[str]:
    with serving(fake.app()) as url:
        yield f"{url}/v1"


def parse_sse(body: str) -> list[tuple[str, Any]]:
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


def fits(network: str, text: str, overrides: dict[str, int] | None = None) -> bool:
    text_rules = {"text_too_long", "text_too_many_bytes", "too_many_hashtags", "too_many_links"}
    return not [
        v for v in check(Network(network), text, [], overrides=overrides) if v.rule in text_rules
    ]


async def history(client: ApiClient, owner: Person) -> list[dict[str, Any]]:
    response = await client.get(f"{captions(owner)}/generations")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_offline_generation_fits_each_account_as_its_network_counts(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    sandbox = await add_sandbox_account(client, owner.workspace_id, "bakery")
    strict = await connect_account(
        app,
        owner.workspace_id,
        "mastodon",
        "bakery@tiny.social",
        limit_overrides={"max_characters": 120},
    )
    body = {
        "brief": BRIEF,
        "account_ids": [sandbox, strict],
        "networks": ["x", "linkedin"],
        "seed": 5,
    }
    response = await client.post(f"{captions(owner)}/generate", json=body)
    assert response.status_code == 200, response.text
    generation = response.json()
    assert generation["provider"] == "offline"
    assert generation["model"] is None
    assert generation["seed"] == 5
    assert len(generation["variants"]) == 3
    for variant in generation["variants"]:
        assert "sourdough workshop" in variant["text"]
        for network in ("sandbox", "x", "linkedin"):
            assert fits(network, variant["text"])
        assert fits("mastodon", variant["text"], {"max_characters": 120})
        targets = [(v["network"], v["account_id"]) for v in variant["versions"]]
        assert targets == [
            ("sandbox", sandbox),
            ("mastodon", strict),
            ("x", None),
            ("linkedin", None),
        ]
        for version in variant["versions"]:
            assert version["length"]["count"] <= version["length"]["limit"]
        mastodon = variant["versions"][1]
        assert mastodon["length"]["limit"] == 120
    again = await client.post(f"{captions(owner)}/generate", json=body)
    assert [v["text"] for v in again.json()["variants"]] == [
        v["text"] for v in generation["variants"]
    ]
    stored = await history(client, owner)
    assert [g["id"] for g in stored] == [again.json()["id"], generation["id"]]
    assert stored[1]["request"]["brief"]["topic"] == BRIEF["topic"]
    assert stored[1]["provider"] == "offline"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"brief": {**BRIEF, "topic": "hi"}}, "brief.topic"),
        ({"brief": {**BRIEF, "tone": "sarcastic"}}, "brief.tone"),
        ({"brief": {**BRIEF, "link": "not a link"}}, "brief.link"),
        ({"brief": {**BRIEF, "hashtags": 99}}, "brief.hashtags"),
        ({"count": 40}, "count"),
        ({"networks": ["myspace"]}, "networks.0"),
        ({"account_ids": [str(uuid.uuid4())]}, "account_ids"),
        ({"media_ids": [str(uuid.uuid4())]}, "media_ids"),
        ({"surprise": True}, "surprise"),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    client: ApiClient, change: dict[str, Any], field: str
) -> None:
    owner = await set_up_owner(client)
    response = await client.post(f"{captions(owner)}/generate", json={"brief": BRIEF, **change})
    assert response.status_code == 422, response.text
    assert field in [f["field"] for f in response.json()["error"]["fields"]]
    assert await history(client, owner) == []


async def test_streamed_generation_sends_each_variant_then_the_stored_generation(
    client: ApiClient,
) -> None:
    owner = await set_up_owner(client)
    response = await client.post(
        f"{captions(owner)}/generate/stream",
        json={"brief": BRIEF, "networks": ["bluesky"], "count": 2},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    assert [name for name, _ in events] == ["started", "variant", "variant", "done"]
    assert events[0][1]["provider"] == "offline"
    done = events[-1][1]
    assert [v["text"] for v in done["variants"]] == [events[1][1]["text"], events[2][1]["text"]]
    assert (await history(client, owner))[0]["id"] == done["id"]


async def test_a_workspace_model_server_with_a_secret_key(
    app: FastAPI, client: ApiClient, fake: FakeModelServer, model_url: str
) -> None:
    fake.api_key = "sk-very-secret-key"
    owner = await set_up_owner(client)
    settings = {
        "provider": "openai_compatible",
        "base_url": model_url,
        "model": "llama3.2",
        "api_key": "sk-very-secret-key",
        "voice": {"description": "Warm and plain.", "avoid_words": ["synergy"]},
    }
    saved = await client.put(f"{captions(owner)}/settings", json=settings)
    assert saved.status_code == 200, saved.text
    assert "sk-very-secret-key" not in saved.text
    assert saved.json()["api_key_set"] is True
    assert saved.json()["effective"] == {
        "kind": "openai_compatible",
        "source": "workspace",
        "base_url": model_url,
        "model": "llama3.2",
    }
    async with resources_of(app).session_factory() as session:
        row = await session.scalar(select(CaptionSettings))
        assert row is not None
        assert row.api_key_encrypted
        assert b"sk-very-secret-key" not in row.api_key_encrypted

    generated = await client.post(
        f"{captions(owner)}/generate",
        json={"brief": BRIEF, "networks": ["x", "linkedin"], "count": 2},
    )
    assert generated.status_code == 200, generated.text
    body = generated.json()
    assert body["provider"] == "openai_compatible"
    assert body["model"] == "llama3.2"
    assert body["variants"][0]["versions"][0]["text"].startswith("Variant 1 for x:")
    assert body["usage"]["completion_tokens"] > 0
    assert fake.headers_seen[-1]["authorization"] == "Bearer sk-very-secret-key"
    assert "Warm and plain." in fake.chat_requests[-1]["messages"][0]["content"]

    # Saving without a key keeps it; an empty key removes it.
    kept = await client.put(f"{captions(owner)}/settings", json={**settings, "api_key": None})
    assert kept.json()["api_key_set"] is True
    again = await client.get(f"{captions(owner)}/settings")
    assert again.json()["usage_30_days"]["completion_tokens"] == body["usage"]["completion_tokens"]
    assert "sk-very-secret-key" not in again.text
    cleared = await client.put(f"{captions(owner)}/settings", json={**settings, "api_key": ""})
    assert cleared.json()["api_key_set"] is False


async def test_a_model_that_overshoots_is_asked_to_shorten_and_the_rest_is_trimmed(
    client: ApiClient, fake: FakeModelServer, model_url: str
) -> None:
    fake.version_length = 700
    owner = await set_up_owner(client)
    await client.put(
        f"{captions(owner)}/settings",
        json={"provider": "openai_compatible", "base_url": model_url, "model": "llama3.2"},
    )
    response = await client.post(
        f"{captions(owner)}/generate",
        json={"brief": BRIEF, "networks": ["x", "bluesky"], "count": 1},
    )
    assert response.status_code == 200, response.text
    variant = response.json()["variants"][0]
    assert fits("x", variant["text"])
    assert fits("bluesky", variant["text"])
    for version in variant["versions"]:
        assert fits(version["network"], version["text"])
    shorten_requests = [
        r for r in fake.chat_requests if "Make it shorter" in r["messages"][-1]["content"]
    ]
    assert shorten_requests
    assert "at most 252 characters" in shorten_requests[0]["messages"][-1]["content"]


async def test_model_failures_reach_the_person_as_messages(
    client: ApiClient, fake: FakeModelServer, model_url: str
) -> None:
    owner = await set_up_owner(client)
    await client.put(
        f"{captions(owner)}/settings",
        json={"provider": "openai_compatible", "base_url": model_url, "model": "llama3.2"},
    )
    fake.fail_with(400, "This model's maximum context length is 8192 tokens")
    failed = await client.post(f"{captions(owner)}/generate", json={"brief": BRIEF})
    assert failed.status_code == 502
    assert failed.json()["error"]["code"] == "model_error"
    assert "maximum context length" in failed.json()["error"]["message"]

    fake.reply_with("Here you go: three great posts!")
    streamed = await client.post(f"{captions(owner)}/generate/stream", json={"brief": BRIEF})
    events = parse_sse(streamed.text)
    assert events[-1][0] == "error"
    assert events[-1][1]["code"] == "model_output_invalid"
    assert await history(client, owner) == []


async def test_the_instance_model_from_the_environment_is_the_default(
    make_settings: Callable[..., Settings], sqlite_url: str, model_url: str, fake: FakeModelServer
) -> None:
    from postwizard.app import create_app

    settings = make_settings(
        database_url=sqlite_url, ai_base_url=model_url, ai_model="qwen2.5", ai_api_key="sk-instance"
    )
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        ApiClient.for_app(application) as api,
    ):
        owner = await set_up_owner(api)
        described = (await api.get(f"{captions(owner)}/settings")).json()
        assert described["instance"] == {
            "configured": True,
            "base_url": model_url,
            "model": "qwen2.5",
        }
        assert described["effective"]["source"] == "instance"
        assert "sk-instance" not in json.dumps(described)
        response = await api.post(f"{captions(owner)}/generate", json={"brief": BRIEF, "count": 1})
        assert response.json()["model"] == "qwen2.5"
        assert fake.headers_seen[-1]["authorization"] == "Bearer sk-instance"
        # A workspace can still choose the offline assistant.
        await api.put(f"{captions(owner)}/settings", json={"provider": "offline"})
        offline = await api.post(f"{captions(owner)}/generate", json={"brief": BRIEF, "count": 1})
        assert offline.json()["provider"] == "offline"


async def test_connection_test_lists_models_and_explains_problems(
    client: ApiClient, model_url: str
) -> None:
    owner = await set_up_owner(client)
    url = f"{captions(owner)}/settings/test"
    offline = (await client.post(url, json={})).json()
    assert offline["ok"] is True
    good = (await client.post(url, json={"base_url": model_url, "model": "llama3.2"})).json()
    assert good == {
        "ok": True,
        "message": f"Connected to {model_url.removesuffix('/v1')}; the model 'llama3.2' is available.",
        "models": ["llama3.2", "qwen2.5"],
    }
    missing = (await client.post(url, json={"base_url": model_url, "model": "mistral"})).json()
    assert missing["ok"] is False
    assert "no model named 'mistral'" in missing["message"]
    port = free_port()
    down = (
        await client.post(url, json={"base_url": f"http://127.0.0.1:{port}/v1", "model": "x"})
    ).json()
    assert down["ok"] is False
    assert f"http://127.0.0.1:{port} cannot be reached" in down["message"]
    bad = await client.post(url, json={"base_url": "ftp://example.com"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "base_url"


async def test_settings_need_a_base_url_and_model_for_a_model_server(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    response = await client.put(
        f"{captions(owner)}/settings", json={"provider": "openai_compatible", "model": "llama3.2"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"field": "base_url", "message": "a model server needs its base URL"}
    ]
    described = (await client.get(f"{captions(owner)}/settings")).json()
    assert described["provider"] == "instance"


async def test_rewrite_adapt_and_hashtags_with_the_offline_assistant(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    long_text = "We bake every morning. " * 30 + "https://example.com/bread #Bread"
    rewritten = await client.post(
        f"{captions(owner)}/rewrite",
        json={"text": long_text, "action": "shorter", "networks": ["x"]},
    )
    assert rewritten.status_code == 200, rewritten.text
    assert fits("x", rewritten.json()["text"])
    assert rewritten.json()["text"].startswith("We bake every morning.")

    adapted = await client.post(
        f"{captions(owner)}/adapt", json={"text": long_text, "networks": ["bluesky", "linkedin"]}
    )
    versions = {v["network"]: v for v in adapted.json()["versions"]}
    assert versions["bluesky"]["trimmed"] is True
    assert versions["linkedin"]["trimmed"] is False
    assert versions["linkedin"]["text"] == long_text.replace(
        " https://example.com/bread", "\n\nhttps://example.com/bread"
    )
    assert "https://example.com/bread" in versions["bluesky"]["text"]

    nowhere = await client.post(f"{captions(owner)}/adapt", json={"text": "Hello"})
    assert nowhere.status_code == 422
    assert nowhere.json()["error"]["fields"][0]["field"] == "account_ids"

    tags = await client.post(
        f"{captions(owner)}/hashtags",
        json={"text": BRIEF["topic"], "count": 4, "networks": ["x", "instagram"]},
    )
    by_network = {n["network"]: n["hashtags"] for n in tags.json()["networks"]}
    assert len(by_network["x"]) == 2
    assert len(by_network["instagram"]) == 4
    assert all(t == t.lower() for t in by_network["instagram"])


async def test_the_offline_assistant_says_it_cannot_translate(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    response = await client.post(
        f"{captions(owner)}/translate", json={"text": "Fresh bread", "language": "German"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "not_supported"
    assert "Settings → AI captions" in response.json()["error"]["message"]


async def test_feedback_puts_the_kept_style_first_next_time(client: ApiClient) -> None:
    owner = await set_up_owner(client)
    for seed in (1, 2, 3):
        generation = (
            await client.post(
                f"{captions(owner)}/generate", json={"brief": BRIEF, "seed": seed, "count": 6}
            )
        ).json()
        kept = next(v["index"] for v in generation["variants"] if v["style"] == "story")
        feedback = await client.post(
            f"{captions(owner)}/generations/{generation['id']}/feedback",
            json={"kept_index": kept, "edited_text": "My own words."},
        )
        assert feedback.status_code == 200, feedback.text
        assert feedback.json()["kept_index"] == kept
    after = (
        await client.post(f"{captions(owner)}/generate", json={"brief": BRIEF, "seed": 9})
    ).json()
    assert after["variants"][0]["style"] == "story"

    missing = await client.post(
        f"{captions(owner)}/generations/{after['id']}/feedback", json={"kept_index": 7}
    )
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "kept_index"


async def test_viewers_read_but_cannot_generate_or_change_settings(
    client: ApiClient, new_client: Callable[[], ApiClient]
) -> None:
    owner = await set_up_owner(client)
    token = await invite(client, owner.workspace_id, role="viewer")
    async with new_client() as other:
        await sign_up_by_invitation(other, token, "viewer@example.com")
        assert (await other.get(f"{captions(owner)}/settings")).status_code == 200
        generate = await other.post(f"{captions(owner)}/generate", json={"brief": BRIEF})
        assert generate.status_code == 403
        settings = await other.put(f"{captions(owner)}/settings", json={"provider": "offline"})
        assert settings.status_code == 403


async def test_voice_is_learned_from_published_posts(app: FastAPI, client: ApiClient) -> None:
    owner = await set_up_owner(client)
    nothing = await client.post(f"{captions(owner)}/voice/learn")
    assert nothing.status_code == 409
    async with resources_of(app).session_factory() as session:
        for text in (
            "Fresh sourdough this morning! 🍞 Come early. #Sourdough #RiseAndBake",
            "Our rye is back! 🥖 Who's coming by? #RiseAndBake",
            "Croissants on Sundays only. #RiseAndBake",
        ):
            session.add(
                Post(
                    workspace_id=uuid.UUID(owner.workspace_id),
                    text=text,
                    status=PostStatus.PUBLISHED,
                )
            )
        session.add(
            Post(
                workspace_id=uuid.UUID(owner.workspace_id), text="A draft", status=PostStatus.DRAFT
            )
        )
        await session.commit()
    proposal = (await client.post(f"{captions(owner)}/voice/learn")).json()
    assert proposal["based_on_posts"] == 3
    assert proposal["voice"]["use_words"][0] == "RiseAndBake"
    assert "uses emoji" in proposal["voice"]["description"]
    assert "A draft" not in proposal["voice"]["examples"]
    assert len(proposal["voice"]["examples"]) == 3

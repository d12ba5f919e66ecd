"""The OpenAI-compatible provider against a local fake model server over real HTTP: plain and
streamed chat completions, JSON variants, retries on 429/5xx, timeouts, refused connections,
malformed answers; and, when POSTWIZARD_TEST_AI_BASE_URL is set, a real server (e.g. Ollama)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator

import pytest

from postwizard.captions.errors import (
    ModelOutputInvalid,
    ModelRefused,
    ModelTimeout,
    ModelUnreachable,
    NotSupported,
)
from postwizard.captions.fitting import FitTarget
from postwizard.captions.openai_compatible import ModelSettings, OpenAICompatibleProvider
from postwizard.captions.providers import (
    Brief,
    DraftReady,
    Finished,
    GenerateRequest,
    ImageInput,
    Progress,
    RewriteAction,
    StreamEvent,
    Tone,
    VoiceProfile,
)
from postwizard.platforms.networks import Network
from tests.fakes.openai_compatible import FakeModelServer
from tests.support.services import free_port
from tests.support.serving import serving

NETWORKS = [Network.X, Network.LINKEDIN, Network.BLUESKY]
BUDGETS = {n: FitTarget(n).max_length for n in NETWORKS}
BRIEF = Brief(
    topic="Sourdough class for beginners on Saturday",
    audience="home bakers",
    link="https://example.com/class",
)


def request(
    count: int = 3, images: list[ImageInput] | None = None, **brief: object
) -> GenerateRequest:
    from dataclasses import replace

    return GenerateRequest(
        brief=replace(BRIEF, **brief),  # type: ignore[arg-type]
        networks=NETWORKS,
        budgets=BUDGETS,
        count=count,
        voice=VoiceProfile(description="Warm, no jargon.", avoid_words=("synergy",)),
        images=images or [],
    )


@pytest.fixture
def fake() -> FakeModelServer:
    return FakeModelServer()


@pytest.fixture
def base_url(fake: FakeModelServer) -> Iterator[str]:
    with serving(fake.app()) as url:
        yield f"{url}/v1"


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def provider(
    base_url: str, sleeps: Sleeps | None = None, **settings: object
) -> OpenAICompatibleProvider:
    values: dict[str, object] = {"base_url": base_url, "model": "llama3.2", "timeout_seconds": 5.0}
    values.update(settings)
    return OpenAICompatibleProvider(
        ModelSettings(**values),  # type: ignore[arg-type]
        sleep=sleeps or Sleeps(),
    )


async def test_generate_asks_for_json_variants_and_reads_them(
    fake: FakeModelServer, base_url: str
) -> None:
    model = provider(base_url)
    try:
        generated = await model.generate(request(count=2))
    finally:
        await model.aclose()
    assert len(generated.drafts) == 2
    first = generated.drafts[0]
    assert first.text.startswith("Variant 1 for all: Sourdough class for beginners on Saturday.")
    assert set(first.versions) == set(NETWORKS)
    assert first.versions[Network.X].startswith("Variant 1 for x:")
    assert generated.usage.prompt_tokens > 0
    assert generated.usage.completion_tokens > 0
    sent = fake.chat_requests[0]
    assert sent["model"] == "llama3.2"
    schema = sent["response_format"]["json_schema"]
    assert sent["response_format"]["type"] == "json_schema"
    assert schema["strict"] is True
    assert schema["schema"]["properties"]["variants"]["items"]["properties"]["versions"][
        "required"
    ] == ["x", "linkedin", "bluesky"]
    system, user = sent["messages"]
    assert "Warm, no jargon." in system["content"]
    assert "synergy" in system["content"]
    assert "Audience: home bakers" in user["content"]
    assert "x (X): at most 280 characters" in user["content"]
    assert "Link (include it exactly): https://example.com/class" in user["content"]


async def test_stream_hands_on_each_variant_before_the_answer_ends(
    fake: FakeModelServer, base_url: str
) -> None:
    model = provider(base_url)
    events: list[StreamEvent] = []
    try:
        async for event in model.stream(request(count=3)):
            events.append(event)
    finally:
        await model.aclose()
    kinds = [type(e).__name__ for e in events]
    assert kinds[-1] == "Finished"
    ready = [e for e in events if isinstance(e, DraftReady)]
    assert [e.index for e in ready] == [0, 1, 2]
    # The first variant arrived while the model was still writing the others.
    first_ready = kinds.index("DraftReady")
    assert any(isinstance(e, Progress) for e in events[first_ready + 1 :])
    progress = [e.characters for e in events if isinstance(e, Progress)]
    assert progress == sorted(progress)
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert finished.usage.completion_tokens > 0
    sent = fake.chat_requests[0]
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


async def test_rate_limit_is_retried_after_the_servers_delay(
    fake: FakeModelServer, base_url: str
) -> None:
    fake.fail_with(
        429, "Rate limit reached for requests", code="rate_limit_exceeded", retry_after="2"
    )
    sleeps = Sleeps()
    model = provider(base_url, sleeps)
    try:
        generated = await model.generate(request(count=1))
    finally:
        await model.aclose()
    assert len(generated.drafts) == 1
    assert len(fake.chat_requests) == 2
    assert sleeps.delays == [2.0]


async def test_server_errors_are_retried_with_backoff_then_reported(
    fake: FakeModelServer, base_url: str
) -> None:
    for _ in range(3):
        fake.fail_with(500, "The server had an error while processing your request")
    sleeps = Sleeps()
    model = provider(base_url, sleeps, retries=2, retry_base_seconds=0.5)
    with pytest.raises(ModelRefused) as caught:
        await model.generate(request())
    await model.aclose()
    assert len(fake.chat_requests) == 3
    assert len(sleeps.delays) == 2
    assert 0.5 <= sleeps.delays[0] <= 0.75
    assert 1.0 <= sleeps.delays[1] <= 1.5
    message = caught.value.message
    assert "answered 500 after 3 tries" in message
    assert "The server had an error while processing your request" in message
    assert base_url.removesuffix("/v1") in message


async def test_a_streamed_request_is_retried_only_before_it_starts(
    fake: FakeModelServer, base_url: str
) -> None:
    fake.fail_with(503, "Model is loading")
    sleeps = Sleeps()
    model = provider(base_url, sleeps)
    try:
        events = [e async for e in model.stream(request(count=1))]
    finally:
        await model.aclose()
    assert len(fake.chat_requests) == 2
    assert any(isinstance(e, DraftReady) for e in events)


async def test_wrong_api_key_is_reported_without_retrying(
    base_url: str, fake: FakeModelServer
) -> None:
    fake.api_key = "sk-right"
    sleeps = Sleeps()
    model = provider(base_url, sleeps, api_key="sk-wrong")
    with pytest.raises(ModelRefused) as caught:
        await model.generate(request())
    await model.aclose()
    assert len(fake.chat_requests) == 1
    assert sleeps.delays == []
    assert "answered 401: Incorrect API key provided." in caught.value.message
    assert "Check the API key" in caught.value.message
    assert "sk-wrong" not in caught.value.message


async def test_api_key_is_sent_as_a_bearer_token(base_url: str, fake: FakeModelServer) -> None:
    fake.api_key = "sk-right"
    model = provider(base_url, api_key="sk-right")
    try:
        await model.generate(request(count=1))
    finally:
        await model.aclose()
    assert fake.headers_seen[-1]["authorization"] == "Bearer sk-right"
    assert "sk-right" not in repr(model.settings)


async def test_unknown_model_names_the_model(base_url: str) -> None:
    model = provider(base_url, model="llama9")
    with pytest.raises(ModelRefused) as caught:
        await model.generate(request())
    await model.aclose()
    assert "answered 404" in caught.value.message
    assert "'llama9'" in caught.value.message


async def test_a_model_that_does_not_answer_in_time_is_a_timeout(
    fake: FakeModelServer, base_url: str
) -> None:
    fake.hang(5)
    model = provider(base_url, timeout_seconds=0.5)
    with pytest.raises(ModelTimeout) as caught:
        await model.generate(request())
    await model.aclose()
    server = base_url.removesuffix("/v1")
    assert caught.value.message.startswith(f"The model server at {server} did not answer in 0.5 s.")
    assert caught.value.status_code == 504
    assert len(fake.chat_requests) == 1  # a slow model is not asked again at once


async def test_a_server_that_is_not_running_is_unreachable() -> None:
    port = free_port()
    sleeps = Sleeps()
    model = provider(f"http://127.0.0.1:{port}/v1", sleeps, retries=1)
    with pytest.raises(ModelUnreachable) as caught:
        await model.generate(request())
    await model.aclose()
    assert f"http://127.0.0.1:{port} cannot be reached (could not connect)" in caught.value.message
    assert len(sleeps.delays) == 1


async def test_malformed_json_from_the_model_is_a_clear_error(
    fake: FakeModelServer, base_url: str
) -> None:
    fake.reply_with('{"variants": [{"text": "Fresh bread", "versions": {')
    model = provider(base_url)
    with pytest.raises(ModelOutputInvalid) as caught:
        await model.generate(request())
    await model.aclose()
    assert "is not the JSON asked for" in caught.value.message
    assert caught.value.status_code == 502


async def test_malformed_json_in_a_stream_is_a_clear_error(
    fake: FakeModelServer, base_url: str
) -> None:
    fake.reply_with("Sure! Here are three posts: 1. Fresh bread...")
    model = provider(base_url)
    with pytest.raises(ModelOutputInvalid):
        async for _event in model.stream(request()):
            pass
    await model.aclose()


async def test_json_in_a_code_fence_is_accepted(fake: FakeModelServer, base_url: str) -> None:
    fake.reply_with('```json\n{"variants": [{"text": "Fresh bread at 7!", "versions": {}}]}\n```')
    model = provider(base_url)
    try:
        generated = await model.generate(request(count=1))
    finally:
        await model.aclose()
    assert generated.drafts[0].text == "Fresh bread at 7!"
    # A missing version falls back to the variant's text.
    assert generated.drafts[0].versions[Network.X] == "Fresh bread at 7!"


async def test_a_server_without_structured_output_is_asked_again_without_it(
    fake: FakeModelServer, base_url: str
) -> None:
    fake.rejects_json_schema = True
    model = provider(base_url)
    try:
        written = await model.rewrite(
            "Our bread is really very good.",
            RewriteAction.SHORTER,
            voice=VoiceProfile(),
            tone=Tone.FRIENDLY,
        )
    finally:
        await model.aclose()
    assert written.text == "Our bread is really very good."
    assert "response_format" in fake.chat_requests[0]
    assert "response_format" not in fake.chat_requests[1]


async def test_translate_and_alt_text_from_a_picture(fake: FakeModelServer, base_url: str) -> None:
    model = provider(base_url, accepts_images=True)
    picture = ImageInput("image/jpeg", b"\xff\xd8\xff fake jpeg bytes")
    try:
        translated = await model.translate("Fresh bread at 7", "German")
        alt = await model.describe_image(picture)
    finally:
        await model.aclose()
    assert translated.text == "[German] Fresh bread at 7"
    assert alt.text == "A round sourdough loaf on a wooden board."
    parts = fake.chat_requests[1]["messages"][1]["content"]
    image = next(p for p in parts if p["type"] == "image_url")
    encoded = base64.b64encode(picture.data).decode()
    assert image["image_url"]["url"] == f"data:image/jpeg;base64,{encoded}"


async def test_pictures_of_the_brief_go_to_a_model_that_accepts_them(
    fake: FakeModelServer, base_url: str
) -> None:
    picture = ImageInput("image/png", b"\x89PNG fake")
    for accepts in (True, False):
        model = provider(base_url, accepts_images=accepts)
        try:
            await model.generate(request(count=1, images=[picture]))
        finally:
            await model.aclose()
    with_pictures, without = (r["messages"][1]["content"] for r in fake.chat_requests)
    assert isinstance(with_pictures, list)
    assert with_pictures[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert "attached pictures" in with_pictures[0]["text"]
    assert isinstance(without, str)


async def test_a_model_not_set_up_for_pictures_says_so(base_url: str) -> None:
    model = provider(base_url, accepts_images=False)
    with pytest.raises(NotSupported):
        await model.describe_image(ImageInput("image/png", b"png"))
    await model.aclose()


async def test_hashtags_from_a_model_are_checked_per_network(base_url: str) -> None:
    model = provider(base_url)
    try:
        suggested = await model.hashtags(
            "Sourdough class",
            5,
            [Network.X, Network.THREADS, Network.DISCORD],
            voice=VoiceProfile(),
        )
    finally:
        await model.aclose()
    # "#not valid" is dropped; "sourdough" gets its '#'; Threads takes one, Discord none.
    assert suggested.tags[Network.X] == ["#Baking", "#sourdough"]
    assert suggested.tags[Network.THREADS] == ["#Baking"]
    assert suggested.tags[Network.DISCORD] == []


async def test_connection_check_lists_the_servers_models(base_url: str) -> None:
    model = provider(base_url, model="qwen2.5")
    try:
        report = await model.check_connection()
    finally:
        await model.aclose()
    assert report.models == ["llama3.2", "qwen2.5"]
    assert report.model_found


@pytest.mark.skipif(
    not os.environ.get("POSTWIZARD_TEST_AI_BASE_URL"),
    reason="set POSTWIZARD_TEST_AI_BASE_URL (e.g. http://localhost:11434/v1) and "
    "POSTWIZARD_TEST_AI_MODEL to try a real model server",
)
async def test_a_real_model_server_writes_variants() -> None:
    model = OpenAICompatibleProvider(
        ModelSettings(
            base_url=os.environ["POSTWIZARD_TEST_AI_BASE_URL"],
            model=os.environ.get("POSTWIZARD_TEST_AI_MODEL", "llama3.2"),
            api_key=os.environ.get("POSTWIZARD_TEST_AI_API_KEY", ""),
            timeout_seconds=120,
        )
    )
    try:
        generated = await model.generate(request(count=2))
    finally:
        await model.aclose()
    assert generated.drafts
    assert all(d.text for d in generated.drafts)
    json.dumps([d.text for d in generated.drafts])  # plain strings

"""Any model server that speaks OpenAI's Chat Completions: OpenAI itself, Ollama
(`http://localhost:11434/v1`), vLLM, llama.cpp's server, LM Studio...

Spoken with httpx rather than the `openai` package: httpx is already PostWizard's HTTP client,
the protocol used is one POST (plus its SSE stream) and one GET, and owning the retry loop lets
every error name the server and its timeout, and never retry once a stream has started.

Variants come back as JSON (`response_format: json_schema`); while streaming, each variant is
handed on as soon as its JSON object is complete. 429 and 5xx answers are retried with backoff
(honouring Retry-After); a timeout is not, since the model would be as slow again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from postwizard.captions import prompts
from postwizard.captions.errors import (
    CaptionError,
    ModelOutputInvalid,
    ModelRefused,
    ModelTimeout,
    ModelUnreachable,
    NotSupported,
)
from postwizard.captions.offline.styles import is_valid_hashtag, style_of
from postwizard.captions.providers import (
    Adapted,
    Draft,
    DraftReady,
    Finished,
    Generated,
    GenerateRequest,
    Hashtags,
    ImageInput,
    Progress,
    ProviderKind,
    RewriteAction,
    StreamEvent,
    Tone,
    Usage,
    VoiceProfile,
    Written,
)
from postwizard.platforms.networks import Network

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_RETRIES = 2
RETRY_BASE_SECONDS = 0.5
MAX_RETRY_AFTER_SECONDS = 20.0
TEMPERATURE = 0.8
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ModelSettings:
    """Where the model is and how to reach it. `api_key` is a secret: never logged or shown."""

    base_url: str
    model: str
    api_key: str = ""
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    accepts_images: bool = False
    retries: int = DEFAULT_RETRIES
    retry_base_seconds: float = RETRY_BASE_SECONDS

    def __repr__(self) -> str:  # the key must not reach logs through a repr
        return f"ModelSettings(base_url={self.base_url!r}, model={self.model!r})"


@dataclass(frozen=True, slots=True)
class ConnectionReport:
    """What `GET /models` said: the models the server offers and whether ours is one."""

    models: list[str]
    model_found: bool


class OpenAICompatibleProvider:
    """Chat Completions over HTTP (see the module docstring)."""

    kind = ProviderKind.OPENAI_COMPATIBLE
    can_translate = True

    def __init__(
        self,
        settings: ModelSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.model: str | None = settings.model
        self.accepts_images = settings.accepts_images
        self._sleep = sleep
        headers = {"Accept": "application/json"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key}"
        self._client = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_seconds),
            transport=transport,
        )

    @property
    def server(self) -> str:
        """The server as people name it in an error: scheme, host and port."""
        parts = urlsplit(self.settings.base_url)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else self.settings.base_url

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- Actions -------------------------------------------------------------------------------

    async def generate(self, request: GenerateRequest) -> Generated:
        networks = list(request.networks)
        content, usage = await self._complete(
            self._generate_messages(request), prompts.variants_schema(networks)
        )
        drafts = parse_variants(content, networks, self.server)
        return Generated(drafts=drafts[: request.count], usage=usage)

    async def stream(self, request: GenerateRequest) -> AsyncIterator[StreamEvent]:
        networks = list(request.networks)
        scanner = VariantScanner()
        content: list[str] = []
        usage = Usage()
        emitted = 0
        async for piece in self._stream(
            self._generate_messages(request), prompts.variants_schema(networks)
        ):
            if isinstance(piece, Usage):
                usage = piece
                continue
            content.append(piece)
            yield Progress(characters=sum(len(c) for c in content))
            for item in scanner.feed(piece):
                if emitted < request.count:
                    yield DraftReady(emitted, _draft(item, networks, self.server))
                    emitted += 1
        if emitted == 0:
            # No incremental object came through (a fenced block, say): parse the whole answer.
            for draft in parse_variants("".join(content), networks, self.server)[: request.count]:
                yield DraftReady(emitted, draft)
                emitted += 1
        yield Finished(usage=usage)

    async def rewrite(
        self,
        text: str,
        action: RewriteAction,
        *,
        voice: VoiceProfile,
        tone: Tone,
        max_length: int | None = None,
    ) -> Written:
        messages = prompts.rewrite_messages(text, action, voice, tone, max_length)
        content, usage = await self._complete(messages, prompts.TEXT_SCHEMA)
        return Written(_string_field(content, "text", self.server), usage)

    async def adapt(
        self, text: str, budgets: Mapping[Network, int], *, voice: VoiceProfile
    ) -> Adapted:
        networks = list(budgets)
        content, usage = await self._complete(
            prompts.adapt_messages(text, budgets, voice), prompts.versions_schema(networks)
        )
        data = _json_object(content, self.server)
        versions = data.get("versions")
        if not isinstance(versions, dict):
            raise _invalid(self.server, "it has no `versions`")
        return Adapted(
            versions={n: str(versions.get(n.value) or text) for n in networks}, usage=usage
        )

    async def hashtags(
        self, text: str, count: int, networks: Sequence[Network], *, voice: VoiceProfile
    ) -> Hashtags:
        content, usage = await self._complete(
            prompts.hashtag_messages(text, count, networks, voice),
            prompts.hashtags_schema(networks),
        )
        data = _json_object(content, self.server).get("hashtags")
        if not isinstance(data, dict):
            raise _invalid(self.server, "it has no `hashtags`")
        tags: dict[Network, list[str]] = {}
        for network in networks:
            wanted = min(count, style_of(network).max_hashtags)
            suggested = data.get(network.value) or []
            valid = [
                tag if tag.startswith("#") else "#" + tag
                for tag in suggested
                if isinstance(tag, str)
            ]
            tags[network] = list(dict.fromkeys(t for t in valid if is_valid_hashtag(t)))[:wanted]
        return Hashtags(tags=tags, usage=usage)

    async def translate(self, text: str, language: str) -> Written:
        content, usage = await self._complete(
            prompts.translate_messages(text, language), prompts.TEXT_SCHEMA
        )
        return Written(_string_field(content, "text", self.server), usage)

    async def describe_image(self, image: ImageInput) -> Written:
        if not self.accepts_images:
            raise NotSupported(
                f"The model {self.settings.model!r} is not set up to accept pictures; turn on "
                "“model accepts images” in Settings → AI captions if it does."
            )
        content, usage = await self._complete(
            prompts.alt_text_messages(_image_part(image)), prompts.ALT_TEXT_SCHEMA
        )
        return Written(_string_field(content, "alt_text", self.server), usage)

    async def check_connection(self) -> ConnectionReport:
        """List the server's models (`GET /models`), to test the settings."""
        response = await self._send("GET", "models", None)
        try:
            listed = response.json().get("data", [])
            models = [str(item["id"]) for item in listed if isinstance(item, dict)]
        except (ValueError, KeyError, AttributeError):
            raise _invalid(self.server, "GET /models did not list models") from None
        return ConnectionReport(models=models, model_found=self.settings.model in models)

    def _generate_messages(self, request: GenerateRequest) -> list[prompts.Message]:
        images = [_image_part(image) for image in request.images] if self.accepts_images else []
        return prompts.generate_messages(
            request.brief, request.budgets, request.count, request.voice, images
        )

    # --- Chat Completions ----------------------------------------------------------------------

    def _body(
        self, messages: list[prompts.Message], schema: dict[str, Any] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "temperature": TEMPERATURE,
        }
        if schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "postwizard_captions", "strict": True, "schema": schema},
            }
        return body

    async def _complete(
        self, messages: list[prompts.Message], schema: dict[str, Any]
    ) -> tuple[str, Usage]:
        body = self._body(messages, schema)
        try:
            response = await self._send("POST", "chat/completions", body)
        except ModelRefused as refused:
            if not refused.schema_unsupported:
                raise
            # Older servers reject json_schema; the prompt asks for JSON all the same.
            response = await self._send("POST", "chat/completions", self._body(messages, None))
        try:
            data = response.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise _invalid(self.server, "it is not a chat completion") from None
        if not isinstance(content, str):
            raise _invalid(self.server, "the message has no text")
        return content, _usage(data.get("usage"))

    async def _stream(
        self, messages: list[prompts.Message], schema: dict[str, Any]
    ) -> AsyncIterator[str | Usage]:
        body = self._body(messages, schema) | {
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        async with self._open_stream(body) as response:
            try:
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue  # SSE comments, event names, blank separators
                    payload = line[5:].strip()
                    if payload == "[DONE]":
                        break
                    try:
                        chunk = json.loads(payload)
                    except ValueError:
                        raise _invalid(self.server, "a streamed chunk is not JSON") from None
                    if chunk.get("usage"):
                        yield _usage(chunk["usage"])
                    for choice in chunk.get("choices") or []:
                        delta = (choice.get("delta") or {}).get("content")
                        if delta:
                            yield str(delta)
            except httpx.TimeoutException:
                raise self._timeout() from None
            except httpx.TransportError as error:
                raise ModelUnreachable(
                    f"The model server at {self.server} broke off its answer ({_reason(error)})."
                ) from None

    def _open_stream(self, body: dict[str, Any]) -> _StreamOpener:
        return _StreamOpener(self, body)

    async def _send(self, method: str, path: str, body: dict[str, Any] | None) -> httpx.Response:
        """One request with retries on connection failures, 429 and 5xx (before any answer was
        used, so a retry can never duplicate anything)."""
        attempt = 0
        while True:
            try:
                request = self._client.build_request(method, path, json=body)
                response = await self._client.send(request)
                await response.aread()
            except httpx.TimeoutException:
                raise self._timeout() from None
            except httpx.TransportError as error:
                if attempt >= self.settings.retries:
                    raise self._unreachable(error) from None
                await self._sleep(self._backoff(attempt, None))
                attempt += 1
                continue
            retry = self._check(response, attempt)
            if retry is None:
                return response
            await self._sleep(retry)
            attempt += 1

    def _check(self, response: httpx.Response, attempt: int) -> float | None:
        """None when the answer is good; the delay before a retry; or raises."""
        status = response.status_code
        if status < 400:
            return None
        retryable = status == 429 or status >= 500
        if retryable and attempt < self.settings.retries:
            delay = self._backoff(attempt, response.headers.get("Retry-After"))
            if delay <= MAX_RETRY_AFTER_SECONDS:
                return delay
        raise self._refused(response, tries=attempt + 1)

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                pass
        base: float = self.settings.retry_base_seconds * 2**attempt
        return base + random.uniform(0, base / 2)  # noqa: S311 - jitter, not security

    def _timeout(self) -> ModelTimeout:
        return ModelTimeout(
            f"The model server at {self.server} did not answer in "
            f"{self.settings.timeout_seconds:g} s. A model that is still loading can take "
            "longer; try again, or raise the timeout."
        )

    def _unreachable(self, error: httpx.TransportError) -> ModelUnreachable:
        return ModelUnreachable(
            f"The model server at {self.server} cannot be reached ({_reason(error)}). Is it "
            "running, and is the base URL right?"
        )

    def _refused(self, response: httpx.Response, *, tries: int) -> ModelRefused:
        status = response.status_code
        detail = _error_message(response)
        hint = {
            401: " Check the API key in Settings → AI captions.",
            403: " Check the API key's permissions.",
            404: f" Check the model name ({self.settings.model!r}) and the base URL.",
            429: " The server is rate limiting; wait a little and try again.",
        }.get(status, "")
        if status >= 500:
            hint = " The model server had a problem; try again shortly."
        after = f" after {tries} tries" if tries > 1 else ""
        error = ModelRefused(
            f"The model server at {self.server} answered {status}{after}: {detail}.{hint}",
            status_code=429 if status == 429 else 502,
            code="model_rate_limited" if status == 429 else "model_error",
        )
        error.schema_unsupported = status == 400 and "response_format" in detail
        return error


class _StreamOpener:
    """`async with` a streaming response whose status was checked (and retried) first."""

    def __init__(self, provider: OpenAICompatibleProvider, body: dict[str, Any]) -> None:
        self._provider = provider
        self._body = body
        self._response: httpx.Response | None = None

    async def __aenter__(self) -> httpx.Response:
        provider = self._provider
        attempt = 0
        while True:
            request = provider._client.build_request("POST", "chat/completions", json=self._body)
            try:
                response = await provider._client.send(request, stream=True)
            except httpx.TimeoutException:
                raise provider._timeout() from None
            except httpx.TransportError as error:
                if attempt >= provider.settings.retries:
                    raise provider._unreachable(error) from None
                await provider._sleep(provider._backoff(attempt, None))
                attempt += 1
                continue
            if response.status_code < 400:
                self._response = response
                return response
            await response.aread()
            await response.aclose()
            try:
                delay = provider._check(response, attempt)
            except ModelRefused as refused:
                if not refused.schema_unsupported or "response_format" not in self._body:
                    raise
                self._body = {k: v for k, v in self._body.items() if k != "response_format"}
                continue
            await provider._sleep(delay or 0.0)
            attempt += 1

    async def __aexit__(self, *exc: object) -> None:
        if self._response is not None:
            await self._response.aclose()


# --- Parsing what the model wrote -----------------------------------------------------------------


class VariantScanner:
    """Finds complete variants in a JSON answer that is still arriving:
    `{"variants": [ {...}, {...` yields the first object as soon as its closing brace is in."""

    def __init__(self) -> None:
        self._buffer = ""
        self._position: int | None = None
        self._done = False
        self._decoder = json.JSONDecoder()

    def feed(self, piece: str) -> list[Any]:
        self._buffer += piece
        found: list[Any] = []
        if self._done:
            return found
        if self._position is None:
            key = re.search(r'"variants"\s*:\s*\[', self._buffer)
            if key is None:
                return found
            self._position = key.end()
        while True:
            position = self._skip(self._position)
            if position >= len(self._buffer):
                return found
            if self._buffer[position] == "]":
                self._done = True
                return found
            try:
                item, end = self._decoder.raw_decode(self._buffer, position)
            except ValueError:
                return found  # the item is not complete yet
            found.append(item)
            self._position = end

    def _skip(self, position: int) -> int:
        while position < len(self._buffer) and self._buffer[position] in " \t\r\n,":
            position += 1
        return position


def parse_variants(content: str, networks: Sequence[Network], server: str) -> list[Draft]:
    """The drafts in a complete answer; raises `ModelOutputInvalid` when there are none."""
    data = _json_object(content, server)
    items = data.get("variants")
    if not isinstance(items, list) or not items:
        raise _invalid(server, "it has no `variants`")
    return [_draft(item, networks, server) for item in items]


def _draft(item: Any, networks: Sequence[Network], server: str) -> Draft:
    if isinstance(item, str):
        text, versions = item, {}
    elif isinstance(item, dict) and isinstance(item.get("text"), str):
        text = item["text"]
        raw = item.get("versions")
        raw_versions: dict[str, Any] = raw if isinstance(raw, dict) else {}
        versions = {
            n: raw_versions[n.value] for n in networks if isinstance(raw_versions.get(n.value), str)
        }
    else:
        raise _invalid(server, "a variant has no text")
    text = text.strip()
    if not text:
        raise _invalid(server, "a variant is empty")
    return Draft(
        text=text,
        versions={n: (versions.get(n) or text).strip() or text for n in networks},
        style="model",
    )


def _json_object(content: str, server: str) -> dict[str, Any]:
    cleaned = _FENCE.sub("", content.strip())
    for candidate in (cleaned, cleaned[cleaned.find("{") : cleaned.rfind("}") + 1]):
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, dict):
            return data
    raise _invalid(server, "it is not the JSON asked for")


def _string_field(content: str, name: str, server: str) -> str:
    value = _json_object(content, server).get(name)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(server, f"it has no `{name}`")
    return value.strip()


def _invalid(server: str, why: str) -> CaptionError:
    return ModelOutputInvalid(
        f"The model at {server} answered, but {why}. Try again; if it keeps happening, choose "
        "a model that supports structured (JSON) output."
    )


def _usage(raw: Any) -> Usage:
    if not isinstance(raw, dict):
        return Usage()
    return Usage(
        prompt_tokens=int(raw.get("prompt_tokens") or 0),
        completion_tokens=int(raw.get("completion_tokens") or 0),
    )


def _error_message(response: httpx.Response) -> str:
    """OpenAI's `{"error": {"message": ...}}` (Ollama, vLLM and llama.cpp answer the same way),
    else the status's reason: a body that is not such an error is never echoed, so a base URL
    pointed at some other service cannot be used to read it."""
    try:
        data = response.json()
    except ValueError:
        return response.reason_phrase or "an error"
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"]).rstrip(".")
    if isinstance(error, str):
        return error.rstrip(".")
    return response.reason_phrase


def _reason(error: httpx.TransportError) -> str:
    if isinstance(error, httpx.ConnectError):
        return "could not connect"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the connection was closed mid-answer"
    return "network error"


def _image_part(image: ImageInput) -> prompts.Message:
    encoded = base64.b64encode(image.data).decode()
    return {"type": "image_url", "image_url": {"url": f"data:{image.mime_type};base64,{encoded}"}}

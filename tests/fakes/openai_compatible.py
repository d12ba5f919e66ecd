"""A fake OpenAI-compatible model server (Chat Completions and Models, as OpenAI documents them
and Ollama, vLLM and llama.cpp's server implement them) for contract tests.

- `GET /v1/models` → `{"object": "list", "data": [{"id", "object": "model", ...}]}`.
- `POST /v1/chat/completions` → a `chat.completion` object (`choices[0].message.content`,
  `usage`), or with `"stream": true` Server-Sent Events of `chat.completion.chunk` objects
  (`choices[0].delta.content`), a final chunk with `finish_reason`, a usage chunk with empty
  `choices` when `stream_options.include_usage` is set, then `data: [DONE]`.
- Errors in OpenAI's shape: `{"error": {"message", "type", "param", "code"}}` (401 for a wrong
  key, 404 for an unknown model, 429 with `Retry-After`, 500...).

By default it answers what it was asked for: for a `response_format` JSON schema it writes JSON
of that shape, a post per variant and network made from the request's "Topic:" line. A test
queues scripted replies (`reply_with`, `fail_with`, `hang`, ...) that apply to the next calls in
order, and reads `requests` to see what PostWizard sent.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

CHUNK_CHARACTERS = 7


@dataclass
class Scripted:
    """One scripted answer: `content` for the model's text, or an HTTP error, or a hang."""

    content: str | None = None
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hang_seconds: float = 0.0


@dataclass
class FakeModelServer:
    models: list[str] = field(default_factory=lambda: ["llama3.2", "qwen2.5"])
    api_key: str | None = None  # None: no key needed (a local Ollama)
    # Length of each version the default answer writes (to test overshoot and shortening).
    version_length: int = 120
    # The server rejects `response_format: json_schema` (an old llama.cpp, say).
    rejects_json_schema: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    _script: list[Scripted] = field(default_factory=list)

    # --- Scripting -----------------------------------------------------------------------------

    def reply_with(self, content: str) -> None:
        self._script.append(Scripted(content=content))

    def fail_with(
        self, status: int, message: str, *, code: str | None = None, retry_after: str | None = None
    ) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = {
            "error": {
                "message": message,
                "type": "rate_limit_error" if status == 429 else "invalid_request_error",
                "param": None,
                "code": code,
            }
        }
        self._script.append(Scripted(status=status, body=body, headers=headers))

    def hang(self, seconds: float) -> None:
        self._script.append(Scripted(hang_seconds=seconds))

    @property
    def chat_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if "messages" in r]

    # --- The app -------------------------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        async def list_models(request: Request) -> Response:
            self.headers_seen.append(dict(request.headers))
            refused = self._refuse_key(request)
            if refused is not None:
                return refused
            return JSONResponse(
                {
                    "object": "list",
                    "data": [
                        {"id": m, "object": "model", "created": 1730000000, "owned_by": "library"}
                        for m in self.models
                    ],
                }
            )

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request) -> Response:
            body = await request.json()
            self.requests.append(body)
            self.headers_seen.append(dict(request.headers))
            refused = self._refuse_key(request)
            if refused is not None:
                return refused
            if body.get("model") not in self.models:
                return _error(
                    404,
                    f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                    "model_not_found",
                )
            if self.rejects_json_schema and "response_format" in body:
                return _error(
                    400, "response_format: json_schema is not supported", "unsupported_parameter"
                )
            scripted = self._script.pop(0) if self._script else Scripted()
            if scripted.hang_seconds:
                await asyncio.sleep(scripted.hang_seconds)
            if scripted.status != 200:
                return JSONResponse(
                    scripted.body or {}, status_code=scripted.status, headers=scripted.headers
                )
            content = scripted.content if scripted.content is not None else self._answer(body)
            usage = {
                "prompt_tokens": _tokens(json.dumps(body["messages"])),
                "completion_tokens": _tokens(content),
                "total_tokens": 0,
            }
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            if body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                return StreamingResponse(
                    _chunks(body["model"], content, usage if include_usage else None),
                    media_type="text/event-stream",
                )
            return JSONResponse(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                }
            )

        return app

    def _refuse_key(self, request: Request) -> Response | None:
        if self.api_key is None:
            return None
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        return None

    # --- Default answers -----------------------------------------------------------------------

    def _answer(self, body: dict[str, Any]) -> str:
        prompt = _user_text(body)
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
        properties = (schema or {}).get("properties", {})
        topic = _line(prompt, "Topic:") or "our news"
        if "variants" in properties or "variants" in prompt.lower():
            count = int(_search(r"Write (\d+) clearly different variants", prompt) or 3)
            networks = list(
                properties.get("variants", {})
                .get("items", {})
                .get("properties", {})
                .get("versions", {})
                .get("properties", {})
            )
            return json.dumps(
                {
                    "variants": [
                        {
                            "text": self._post(topic, number, "all"),
                            "versions": {n: self._post(topic, number, n) for n in networks},
                        }
                        for number in range(1, count + 1)
                    ]
                }
            )
        if "versions" in properties:
            post = prompt.rsplit("Post:\n", 1)[-1]
            networks = list(properties["versions"]["properties"])
            return json.dumps({"versions": {n: f"{post} ({n})" for n in networks}})
        if "hashtags" in properties:
            networks = list(properties["hashtags"]["properties"])
            return json.dumps(
                {"hashtags": {n: ["#Baking", "sourdough", "#not valid"] for n in networks}}
            )
        if "alt_text" in properties:
            return json.dumps({"alt_text": "A round sourdough loaf on a wooden board."})
        post = prompt.rsplit("Post:\n", 1)[-1]
        limit = _search(r"at most (\d+) characters", prompt)
        if limit is not None:
            post = post[: int(limit)].rsplit(" ", 1)[0]
        language = _search(r"Translate this post into ([^.]+)\.", prompt)
        if language:
            post = f"[{language}] {post}"
        return json.dumps({"text": post})

    def _post(self, topic: str, number: int, network: str) -> str:
        base = f"Variant {number} for {network}: {topic}."
        filler = " We bake it fresh every morning and save you a warm loaf."
        while len(base) < self.version_length:
            base += filler
        return base[: self.version_length].rsplit(" ", 1)[0] + " #Sourdough"


def _error(status: int, message: str, code: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": code,
            }
        },
        status_code=status,
    )


async def _chunks(model: str, content: str, usage: dict[str, int] | None) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        data = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(data)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    for start in range(0, len(content), CHUNK_CHARACTERS):
        yield chunk({"content": content[start : start + CHUNK_CHARACTERS]})
        await asyncio.sleep(0)
    yield chunk({}, "stop")
    if usage is not None:
        final = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [],
            "usage": usage,
        }
        yield f"data: {json.dumps(final)}\n\n"
    yield "data: [DONE]\n\n"


def _user_text(body: dict[str, Any]) -> str:
    user = [m for m in body.get("messages", []) if m.get("role") == "user"]
    if not user:
        return ""
    content = user[-1].get("content")
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if part.get("type") == "text")
    return str(content)


def _line(text: str, prefix: str) -> str | None:
    for line in text.splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    return None


def _search(pattern: str, text: str) -> str | None:
    match = re.search(pattern, text)
    return match.group(1) if match else None


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)

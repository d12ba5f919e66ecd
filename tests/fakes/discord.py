"""A fake Discord webhook API (discord.com/developers/docs/resources/webhook) for contract tests.

It serves the two documented webhook-with-token routes the adapter uses, with or without an API
version in the path: `GET /api[/v10]/webhooks/{id}/{token}` (the webhook object) and
`POST /api[/v10]/webhooks/{id}/{token}?wait=true[&thread_id=]` (execute: JSON, or multipart with
`payload_json` and `files[n]` parts). Errors carry Discord's JSON error bodies and codes (10015
Unknown Webhook, 50027 Invalid Webhook Token, 50006 empty message, 50035 Invalid Form Body with
its nested `errors`, 40005 entity too large); every execute answer carries the per-route
`X-RateLimit-*` headers, and an exhausted bucket answers 429 with `retry_after`.

`messages` records every message it received *and applied*. Fault switches (each for the next
execute only): `fail_next_create`, `rate_limit_next_create`, `hang_after_next_create` (apply,
then answer only after the client gave up); `delete_webhook` and `rotate_token` make the stored
URL stop working.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import math
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

DISCORD_EPOCH_MS = 1_420_070_400_000
MAX_CONTENT_LENGTH = 2000
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_ATTACHMENT_DESCRIPTION = 1024
ALLOWED_FLAGS = (1 << 2) | (1 << 12)  # SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS
EXECUTE_BUCKET = "0f2d7a5e8c1b4e6f9a3d2c1b0e9f8a7d"
GET_BUCKET = "6b1e0c3f2a9d8e7c6b5a4f3e2d1c0b9a"
_CLOUDFLARE_502 = "<html><head><title>502 Bad Gateway</title></head><body>cloudflare</body></html>"


@dataclass
class FakeWebhook:
    id: str
    token: str
    name: str
    guild_id: str
    channel_id: str
    type: int = 1
    deleted: bool = False

    def as_object(self) -> dict[str, Any]:
        return {
            "application_id": None,
            "avatar": None,
            "channel_id": self.channel_id,
            "guild_id": self.guild_id,
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "token": self.token,
        }


@dataclass(frozen=True)
class ReceivedAttachment:
    filename: str
    description: str | None
    content_type: str
    size: int
    sha256: str


@dataclass
class AppliedMessage:
    webhook_id: str
    id: str
    channel_id: str
    payload: dict[str, Any]
    attachments: list[ReceivedAttachment]

    @property
    def content(self) -> str:
        return str(self.payload.get("content", ""))


@dataclass
class _Window:
    started: float
    used: int = 0


@dataclass
class FakeDiscord:
    """The fake's state; `app` serves it. `rate_limit`/`rate_window_s` shape each webhook's
    execute bucket; `max_upload_bytes` is the server's upload limit (10 MiB without boosts)."""

    rate_limit: int = 5
    rate_window_s: float = 2.0
    hang_seconds: float = 2.0
    max_upload_bytes: int = 10 * 1024 * 1024
    messages: list[AppliedMessage] = field(default_factory=list)
    executes_received: int = 0
    reads_received: int = 0
    rate_limited_answers: int = 0
    _webhooks: dict[str, FakeWebhook] = field(default_factory=dict)
    _windows: dict[str, _Window] = field(default_factory=dict)
    _sequence: itertools.count[int] = field(default_factory=itertools.count)
    _fail_next_create: int | None = None
    _rate_limit_next_create: tuple[float, bool] | None = None
    _hang_next_create: bool = False

    def __post_init__(self) -> None:
        self.app = self._build_app()

    # --- Setting the scene -------------------------------------------------------------------

    def add_webhook(self, name: str = "Captain Hook", *, type: int = 1) -> FakeWebhook:
        webhook = FakeWebhook(
            id=self.snowflake(),
            token=secrets.token_urlsafe(51),
            name=name,
            guild_id=self.snowflake(),
            channel_id=self.snowflake(),
            type=type,
        )
        self._webhooks[webhook.id] = webhook
        return webhook

    def url(self, base_url: str, webhook: FakeWebhook) -> str:
        return f"{base_url}/api/webhooks/{webhook.id}/{webhook.token}"

    def delete_webhook(self, webhook: FakeWebhook) -> None:
        webhook.deleted = True

    def rotate_token(self, webhook: FakeWebhook) -> None:
        webhook.token = secrets.token_urlsafe(51)

    def snowflake(self) -> str:
        milliseconds = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return str((milliseconds << 22) | (1 << 17) | (next(self._sequence) & 0xFFF))

    # --- Fault switches ----------------------------------------------------------------------

    def fail_next_create(self, status: int = 500) -> None:
        self._fail_next_create = status

    def rate_limit_next_create(self, retry_after: float, *, is_global: bool = False) -> None:
        self._rate_limit_next_create = (retry_after, is_global)

    def hang_after_next_create(self) -> None:
        self._hang_next_create = True

    # --- The server --------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/api/webhooks/{webhook_id}/{token}")
        @app.get("/api/v{version}/webhooks/{webhook_id}/{token}")
        async def get_webhook(webhook_id: str, token: str) -> Response:
            self.reads_received += 1
            webhook, refusal = self._webhook(webhook_id, token)
            if webhook is None:
                return refusal
            headers = _rate_headers(50, 49, 1.0, GET_BUCKET)
            return JSONResponse(webhook.as_object(), headers=headers)

        @app.post("/api/webhooks/{webhook_id}/{token}")
        @app.post("/api/v{version}/webhooks/{webhook_id}/{token}")
        async def execute_webhook(webhook_id: str, token: str, request: Request) -> Response:
            self.executes_received += 1
            webhook, refusal = self._webhook(webhook_id, token)
            if webhook is None:
                return refusal
            fault = self._take_fault()
            if fault is not None:
                return fault
            headers = self._count_in_bucket(webhook)
            if headers is None:
                return self._bucket_exhausted(webhook)
            hang, self._hang_next_create = self._hang_next_create, False
            try:
                payload, uploads = await _read_execute(request)
                message = self._apply(webhook, request, payload, uploads)
            except DiscordError as error:
                return JSONResponse(error.body, status_code=error.status, headers=headers)
            if hang:
                # Applied; now answer only after the client has given up.
                await asyncio.sleep(self.hang_seconds)
            if request.query_params.get("wait") != "true":
                return Response(status_code=204, headers=headers)
            return JSONResponse(message, headers=headers)

        return app

    def _webhook(self, webhook_id: str, token: str) -> tuple[FakeWebhook | None, Response]:
        webhook = self._webhooks.get(webhook_id)
        if webhook is None or webhook.deleted:
            return None, JSONResponse({"message": "Unknown Webhook", "code": 10015}, 404)
        if not secrets.compare_digest(webhook.token, token):
            return None, JSONResponse({"message": "Invalid Webhook Token", "code": 50027}, 401)
        return webhook, Response()

    def _take_fault(self) -> Response | None:
        if self._rate_limit_next_create is not None:
            (retry_after, is_global), self._rate_limit_next_create = (
                self._rate_limit_next_create,
                None,
            )
            self.rate_limited_answers += 1
            headers = {"Retry-After": str(math.ceil(retry_after))}
            if is_global:
                headers.update({"X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"})
            else:
                headers.update(_rate_headers(self.rate_limit, 0, retry_after, EXECUTE_BUCKET))
                headers["X-RateLimit-Scope"] = "shared"
            body = {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": is_global,
            }
            return JSONResponse(body, status_code=429, headers=headers)
        status, self._fail_next_create = self._fail_next_create, None
        if status is None:
            return None
        if status == 502:
            return Response(_CLOUDFLARE_502, status_code=502, media_type="text/html")
        return JSONResponse({"message": f"{status}: Internal Server Error", "code": 0}, status)

    def _count_in_bucket(self, webhook: FakeWebhook) -> dict[str, str] | None:
        """Count one execute in the webhook's bucket: the rate headers, or None when empty."""
        now = time.monotonic()
        window = self._windows.get(webhook.id)
        if window is None or now - window.started >= self.rate_window_s:
            window = self._windows[webhook.id] = _Window(started=now)
        if window.used >= self.rate_limit:
            return None
        window.used += 1
        reset_after = self.rate_window_s - (now - window.started)
        return _rate_headers(
            self.rate_limit, self.rate_limit - window.used, reset_after, EXECUTE_BUCKET
        )

    def _bucket_exhausted(self, webhook: FakeWebhook) -> Response:
        self.rate_limited_answers += 1
        window = self._windows[webhook.id]
        retry_after = round(max(self.rate_window_s - (time.monotonic() - window.started), 0), 3)
        headers = _rate_headers(self.rate_limit, 0, retry_after, EXECUTE_BUCKET)
        headers.update({"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": "user"})
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": False,
        }
        return JSONResponse(body, status_code=429, headers=headers)

    def _apply(
        self,
        webhook: FakeWebhook,
        request: Request,
        payload: dict[str, Any],
        uploads: dict[int, tuple[UploadFile, bytes]],
    ) -> dict[str, Any]:
        errors = _form_errors(payload)
        described = payload.get("attachments") or []
        attachments: list[ReceivedAttachment] = []
        for index, entry in enumerate(described):
            upload = uploads.get(int(entry.get("id", -1)))
            if upload is None:
                errors.setdefault("attachments", {})[str(index)] = _error_list(
                    "ATTACHMENT_NOT_FOUND", "Attachment data not found"
                )
                continue
            file, data = upload
            attachments.append(
                ReceivedAttachment(
                    filename=str(entry.get("filename") or file.filename),
                    description=entry.get("description"),
                    content_type=file.content_type or "",
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            )
        if errors:
            raise DiscordError(
                400, {"code": 50035, "errors": errors, "message": "Invalid Form Body"}
            )
        if sum(a.size for a in attachments) > self.max_upload_bytes:
            raise DiscordError(413, {"message": "Request entity too large", "code": 40005})
        if not payload.get("content") and not payload.get("embeds") and not attachments:
            raise DiscordError(400, {"message": "Cannot send an empty message", "code": 50006})
        message_id = self.snowflake()
        channel_id = request.query_params.get("thread_id") or webhook.channel_id
        self.messages.append(
            AppliedMessage(webhook.id, message_id, channel_id, dict(payload), attachments)
        )
        flags = int(payload.get("flags") or 0)
        return {
            "id": message_id,
            "type": 0,
            "content": payload.get("content", ""),
            "channel_id": channel_id,
            "author": {
                "bot": True,
                "id": webhook.id,
                "username": payload.get("username") or webhook.name,
                "avatar": None,
                "discriminator": "0000",
            },
            "attachments": [
                {
                    "id": self.snowflake(),
                    "filename": a.filename,
                    "size": a.size,
                    "content_type": a.content_type,
                    "description": a.description,
                    "url": f"https://cdn.discordapp.com/attachments/{channel_id}/{message_id}/{a.filename}",
                }
                for a in attachments
            ],
            "embeds": [] if flags & (1 << 2) else payload.get("embeds", []),
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "flags": flags,
            "components": [],
            "webhook_id": webhook.id,
        }


class DiscordError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body


async def _read_execute(
    request: Request,
) -> tuple[dict[str, Any], dict[int, tuple[UploadFile, bytes]]]:
    """The execute payload (JSON body, or multipart `payload_json`) and its `files[n]` parts."""
    content_type = request.headers.get("content-type", "")
    uploads: dict[int, tuple[UploadFile, bytes]] = {}
    if content_type.startswith("application/json"):
        body = await request.json()
        return (body if isinstance(body, dict) else {}), uploads
    if not content_type.startswith("multipart/form-data"):
        raise DiscordError(400, {"message": "Cannot send an empty message", "code": 50006})
    form = await request.form()
    payload: dict[str, Any] = {}
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            index = name.removeprefix("files[").removesuffix("]")
            if not index.isdigit():
                raise DiscordError(400, {"message": "Invalid Form Body", "code": 50035})
            uploads[int(index)] = (value, await value.read())
        elif name == "payload_json":
            payload.update(json.loads(value))
        else:
            payload[name] = value
    return payload, uploads


def _form_errors(payload: dict[str, Any]) -> dict[str, Any]:
    """What Discord's form validation says about a payload, in its nested `errors` shape."""
    errors: dict[str, Any] = {}
    content = payload.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT_LENGTH:
        errors["content"] = _error_list(
            "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CONTENT_LENGTH} or fewer in length."
        )
    username = payload.get("username")
    if isinstance(username, str):
        if not 1 <= len(username) <= 80:
            errors["username"] = _error_list(
                "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 80 in length."
            )
        for forbidden in ("discord", "clyde"):
            if forbidden in username.lower():
                errors["username"] = _error_list(
                    "USERNAME_INVALID_CONTAINS", f'Username cannot contain "{forbidden}"'
                )
    embeds = payload.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        errors["embeds"] = _error_list(
            "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length."
        )
    for index, embed in enumerate(embeds[:MAX_EMBEDS]):
        for key, limit in (("title", MAX_EMBED_TITLE), ("description", MAX_EMBED_DESCRIPTION)):
            if len(str(embed.get(key, ""))) > limit:
                errors.setdefault("embeds", {}).setdefault(str(index), {})[key] = _error_list(
                    "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                )
    for index, entry in enumerate(payload.get("attachments") or []):
        if len(str(entry.get("description") or "")) > MAX_ATTACHMENT_DESCRIPTION:
            errors.setdefault("attachments", {}).setdefault(str(index), {})["description"] = (
                _error_list(
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {MAX_ATTACHMENT_DESCRIPTION} or fewer in length.",
                )
            )
    flags = payload.get("flags")
    if flags is not None and int(flags) & ~ALLOWED_FLAGS:
        errors["flags"] = _error_list("MESSAGE_FLAGS_INVALID", "Invalid message flags")
    return errors


def _error_list(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def _rate_headers(limit: int, remaining: int, reset_after: float, bucket: str) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }

"""A fake Telegram Bot API server (core.telegram.org/bots/api) for contract tests.

It speaks the documented protocol: `POST /bot<token>/<method>` with parameters in the query
string, a JSON body, a urlencoded form or multipart/form-data (objects JSON-serialized, files as
parts, `attach://<name>` references in `sendMediaGroup`); every answer is
`{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description", "parameters"?}` with
the HTTP status equal to `error_code`. A malformed token answers 404, an unknown or revoked one
401, as the real server does.

`posts` records every create it received *and applied*, so a test can prove a post exists once.
Fault switches (each applies to the next matching call only): `fail_next_create`,
`rate_limit_next_create`, `hang_after_next_create` (apply, then answer only after the client
gave up: the unknown outcome), `fail_next_read`; `revoke` a token, `set_member` to kick the bot
or take its rights, `migrate` a group to a supergroup.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_UPLOAD_BYTES = 50 * 1_000_000
CREATE_METHODS = frozenset({"sendmessage", "sendphoto", "sendvideo", "sendmediagroup"})
_TOKEN_FORMAT = re.compile(r"\d+:[A-Za-z0-9_-]+")
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
_HTML_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_SUPPORTED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a"}
    | {"tg-emoji", "code", "pre", "blockquote"}
)
_NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass
class FakeBot:
    id: int
    token: str
    username: str
    first_name: str
    revoked: bool = False

    def user(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
        }


@dataclass
class FakeChat:
    id: int
    type: str
    title: str
    username: str | None = None
    member_count: int = 0
    # ChatMember objects (without "user") by user id; absent means "left".
    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    migrated_to: int | None = None
    last_message_id: int = 0

    def as_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass(frozen=True)
class ReceivedFile:
    part: str
    filename: str
    content_type: str
    size: int
    sha256: str
    head: bytes  # the first bytes, to tell an image from anything else


@dataclass
class AppliedPost:
    """One create the fake applied: the messages it made and what it was asked."""

    method: str
    chat_id: int
    message_ids: list[int]
    text: str | None
    files: list[ReceivedFile]
    params: dict[str, Any]


class TelegramFault(Exception):
    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


class FakeTelegram:
    def __init__(self, *, hang_seconds: float = 2.0) -> None:
        self.hang_seconds = hang_seconds
        self.posts: list[AppliedPost] = []
        self.requests: list[str] = []
        self._bots: dict[str, FakeBot] = {}
        self._chats: dict[int, FakeChat] = {}
        self._ids = itertools.count(7_000_000_001)
        self._fail_next_create: int | None = None
        self._rate_limit_next_create: int | None = None
        self._hang_next_create = False
        self._fail_next_read: int | None = None
        self.app = self._build_app()

    # --- Setting the scene ---------------------------------------------------------------------

    def add_bot(self, username: str = "postwizard_test_bot") -> FakeBot:
        bot_id = next(self._ids)
        token = f"{bot_id}:AAH{hashlib.sha256(username.encode()).hexdigest()[:32]}"
        bot = FakeBot(id=bot_id, token=token, username=username, first_name="PostWizard")
        self._bots[token] = bot
        return bot

    def add_chat(
        self,
        chat_type: str,
        title: str,
        *,
        username: str | None = None,
        member_count: int = 0,
    ) -> FakeChat:
        # Channels and supergroups have ids -100<n>; basic groups plain negative ids.
        number = next(self._ids)
        chat_id = -(10**12) - number if chat_type in {"channel", "supergroup"} else -number
        chat = FakeChat(
            id=chat_id, type=chat_type, title=title, username=username, member_count=member_count
        )
        self._chats[chat_id] = chat
        return chat

    def set_member(self, chat: FakeChat, bot: FakeBot, status: str, **rights: bool) -> None:
        chat.members[bot.id] = {"status": status, **rights}

    def revoke(self, bot: FakeBot) -> None:
        bot.revoked = True

    def migrate(self, chat: FakeChat) -> FakeChat:
        """Upgrade a basic group to a supergroup: the old id answers with the new one."""
        supergroup = self.add_chat("supergroup", chat.title, member_count=chat.member_count)
        supergroup.members = dict(chat.members)
        chat.migrated_to = supergroup.id
        return supergroup

    # --- Fault switches -----------------------------------------------------------------------

    def fail_next_create(self, status: int = 502) -> None:
        self._fail_next_create = status

    def rate_limit_next_create(self, retry_after: int) -> None:
        self._rate_limit_next_create = retry_after

    def hang_after_next_create(self) -> None:
        self._hang_next_create = True

    def fail_next_read(self, status: int = 500) -> None:
        self._fail_next_read = status

    # --- The server ---------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/bot{token}/{method}", methods=["GET", "POST"])
        async def bot_api(token: str, method: str, request: Request) -> Response:
            self.requests.append(method)
            if not _TOKEN_FORMAT.fullmatch(token):
                return _error(404, "Not Found")
            bot = self._bots.get(token)
            if bot is None or bot.revoked:
                return _error(401, "Unauthorized")
            name = method.lower()
            handler = getattr(self, f"_method_{name}", None)
            if handler is None:
                return _error(404, "Not Found")
            is_create = name in CREATE_METHODS
            fault = self._take_fault(is_create)
            if fault is not None:
                return fault
            hang = is_create and self._hang_next_create
            self._hang_next_create = self._hang_next_create and not is_create
            try:
                params, files = await _read_parameters(request)
                result = handler(bot, params, files)
            except TelegramFault as error:
                return _error(error.code, error.description, error.parameters)
            if hang:
                # Applied; now answer only after the client has given up.
                await asyncio.sleep(self.hang_seconds)
            return JSONResponse({"ok": True, "result": result})

        return app

    def _take_fault(self, is_create: bool) -> Response | None:
        if is_create and self._rate_limit_next_create is not None:
            seconds, self._rate_limit_next_create = self._rate_limit_next_create, None
            return _error(
                429,
                f"Too Many Requests: retry after {seconds}",
                {"retry_after": seconds},
                headers={"Retry-After": str(seconds)},
            )
        status: int | None = None
        if is_create and self._fail_next_create is not None:
            status, self._fail_next_create = self._fail_next_create, None
        elif not is_create and self._fail_next_read is not None:
            status, self._fail_next_read = self._fail_next_read, None
        if status is None:
            return None
        if status == 502:
            return Response(_NGINX_502, status_code=502, media_type="text/html")
        return _error(status, "Internal Server Error")

    # --- Methods (one per Bot API method; names are case-insensitive) -------------------------

    def _method_getme(self, bot: FakeBot, params: dict[str, Any], files: Files) -> Any:
        return {**bot.user(), "can_join_groups": True, "can_read_all_group_messages": False}

    def _method_getchat(self, bot: FakeBot, params: dict[str, Any], files: Files) -> Any:
        return self._chat(bot, params).as_chat()

    def _method_getchatmember(self, bot: FakeBot, params: dict[str, Any], files: Files) -> Any:
        chat = self._chat(bot, params)
        user_id = int(params.get("user_id", 0))
        target = next((b for b in self._bots.values() if b.id == user_id), None)
        if target is None:
            raise TelegramFault(400, "Bad Request: user not found")
        member = chat.members.get(user_id, {"status": "left"})
        return {**member, "user": target.user()}

    def _method_getchatmembercount(self, bot: FakeBot, params: dict[str, Any], files: Files) -> Any:
        return self._chat(bot, params).member_count

    def _method_sendmessage(self, bot: FakeBot, params: dict[str, Any], files: Files) -> Any:
        chat = self._postable_chat(bot, params)
        text = _parsed_text(str(params.get("text") or ""), params.get("parse_mode"))
        if not text.strip():
            raise TelegramFault(400, "Bad Request: message text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise TelegramFault(400, "Bad Request: message is too long")
        message = self._message(bot, chat, params, text=text)
        options = _json_object(params.get("link_preview_options"))
        if options:
            message["link_preview_options"] = options
        self._record("sendMessage", chat, [message], text, [], params)
        return message

    def _method_sendphoto(self, bot: FakeBot, params: dict[str, Any], files: Files) -> Any:
        return self._send_single(bot, params, files, "photo")

    def _method_sendvideo(self, bot: FakeBot, params: dict[str, Any], files: Files) -> Any:
        return self._send_single(bot, params, files, "video")

    def _method_sendmediagroup(self, bot: FakeBot, params: dict[str, Any], files: Files) -> Any:
        chat = self._postable_chat(bot, params)
        media = params.get("media")
        items = json.loads(media) if isinstance(media, str) else media
        if not isinstance(items, list) or len(items) < 2:
            raise TelegramFault(400, "Bad Request: wrong number of messages to send")
        if len(items) > 10:
            raise TelegramFault(400, "Bad Request: too many messages to send as an album")
        group_id = str(next(self._ids))
        messages: list[dict[str, Any]] = []
        received: list[ReceivedFile] = []
        for item in items:
            kind = item.get("type")
            if kind not in {"photo", "video"}:
                raise TelegramFault(
                    400, "Bad Request: can't use the media of the specified type in the album"
                )
            upload = _attached(files, str(item.get("media", "")))
            caption = _caption(item)
            received.append(upload)
            message = self._message(bot, chat, params, caption=caption)
            message["media_group_id"] = group_id
            message.update(_media_object(kind, upload))
            messages.append(message)
        first_caption = _caption(items[0])
        self._record("sendMediaGroup", chat, messages, first_caption, received, params)
        return messages

    # --- Helpers ------------------------------------------------------------------------------

    def _send_single(
        self, bot: FakeBot, params: dict[str, Any], files: Files, kind: str
    ) -> dict[str, Any]:
        chat = self._postable_chat(bot, params)
        upload = files.get(kind)
        if upload is None:
            raise TelegramFault(400, f"Bad Request: there is no {kind} in the request")
        if kind == "photo":
            _check_image(upload)
        caption = _caption(params)
        message = self._message(bot, chat, params, caption=caption)
        message.update(_media_object(kind, upload))
        self._record(f"send{kind.title()}", chat, [message], caption, [upload], params)
        return message

    def _chat(self, bot: FakeBot, params: dict[str, Any]) -> FakeChat:
        reference = params.get("chat_id")
        chat: FakeChat | None = None
        if isinstance(reference, str) and reference.startswith("@"):
            wanted = reference[1:].lower()
            chat = next(
                (c for c in self._chats.values() if (c.username or "").lower() == wanted), None
            )
        elif reference is not None and re.fullmatch(r"-?\d+", str(reference)):
            chat = self._chats.get(int(reference))
        if chat is None:
            raise TelegramFault(400, "Bad Request: chat not found")
        if chat.migrated_to is not None:
            raise TelegramFault(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        status = chat.members.get(bot.id, {}).get("status", "left")
        # A private chat is invisible to a bot outside it; a public one can be looked up.
        if chat.username is None and status in {"left", "kicked"}:
            raise TelegramFault(400, "Bad Request: chat not found")
        return chat

    def _postable_chat(self, bot: FakeBot, params: dict[str, Any]) -> FakeChat:
        chat = self._chat(bot, params)
        member = chat.members.get(bot.id, {"status": "left"})
        status = member["status"]
        kind = "channel" if chat.type == "channel" else f"{chat.type}"
        if status == "kicked":
            raise TelegramFault(403, f"Forbidden: bot was kicked from the {kind} chat")
        if status == "left":
            raise TelegramFault(403, f"Forbidden: bot is not a member of the {kind} chat")
        if chat.type == "channel" and not (
            status == "administrator" and member.get("can_post_messages")
        ):
            raise TelegramFault(400, "Bad Request: need administrator rights in the channel chat")
        if status == "restricted" and not member.get("can_send_messages"):
            raise TelegramFault(
                400, "Bad Request: not enough rights to send text messages to the chat"
            )
        return chat

    def _message(
        self,
        bot: FakeBot,
        chat: FakeChat,
        params: dict[str, Any],
        *,
        text: str | None = None,
        caption: str | None = None,
    ) -> dict[str, Any]:
        chat.last_message_id += 1
        message: dict[str, Any] = {
            "message_id": chat.last_message_id,
            "date": int(time.time()),
            "chat": chat.as_chat(),
        }
        # In a channel the channel itself is the sender; in a group the bot is.
        if chat.type == "channel":
            message["sender_chat"] = chat.as_chat()
        else:
            message["from"] = bot.user()
        if text is not None:
            message["text"] = text
        if caption:
            message["caption"] = caption
        reply = _json_object(params.get("reply_parameters"))
        if reply:
            message["reply_to_message"] = {"message_id": reply.get("message_id")}
        return message

    def _record(
        self,
        method: str,
        chat: FakeChat,
        messages: list[dict[str, Any]],
        text: str | None,
        files: list[ReceivedFile],
        params: dict[str, Any],
    ) -> None:
        self.posts.append(
            AppliedPost(
                method=method,
                chat_id=chat.id,
                message_ids=[m["message_id"] for m in messages],
                text=text,
                files=files,
                params=dict(params),
            )
        )


Files = dict[str, ReceivedFile]


async def _read_parameters(request: Request) -> tuple[dict[str, Any], Files]:
    """The method's parameters from wherever the Bot API accepts them, and its uploaded files."""
    params: dict[str, Any] = dict(request.query_params)
    files: Files = {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read()
                if len(data) > MAX_UPLOAD_BYTES:
                    raise TelegramFault(413, "Request Entity Too Large")
                files[name] = ReceivedFile(
                    part=name,
                    filename=value.filename or "",
                    content_type=value.content_type or "",
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    head=data[:16],
                )
            else:
                params[name] = value
    return params, files


def _json_object(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str) and value:
        value = json.loads(value)
    return value if isinstance(value, dict) else None


def _caption(source: dict[str, Any]) -> str | None:
    caption = source.get("caption")
    if caption is None:
        return None
    text = _parsed_text(str(caption), source.get("parse_mode"))
    if len(text) > MAX_CAPTION_LENGTH:
        raise TelegramFault(400, "Bad Request: message caption is too long")
    return text


def _parsed_text(text: str, parse_mode: Any) -> str:
    """The text as readers see it: with parse_mode HTML, tags removed and the four named
    entities decoded; a '<' that opens no supported tag is refused, as Telegram refuses it."""
    if not parse_mode:
        return text
    if str(parse_mode) != "HTML":
        raise TelegramFault(400, "Bad Request: unsupported parse_mode")
    shown: list[str] = []
    position = 0
    while position < len(text):
        character = text[position]
        if character == "<":
            tag = _HTML_TAG.match(text, position)
            name = tag.group(2).lower() if tag else text[position + 1 : position + 8]
            if tag is None or name not in _SUPPORTED_TAGS:
                offset = len(text[:position].encode())
                raise TelegramFault(
                    400,
                    f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at '
                    f"byte offset {offset}",
                )
            position = tag.end()
            continue
        if character == "&":
            entity = _HTML_ENTITY.match(text, position)
            if entity is not None:
                shown.append(html.unescape(entity.group(0)))
                position = entity.end()
                continue
        shown.append(character)
        position += 1
    return "".join(shown)


def _attached(files: Files, reference: str) -> ReceivedFile:
    name = reference.removeprefix("attach://")
    if not reference.startswith("attach://") or name not in files:
        raise TelegramFault(400, "Bad Request: wrong file identifier/HTTP URL specified")
    return files[name]


def _check_image(upload: ReceivedFile) -> None:
    head = upload.head
    is_image = (
        head.startswith(b"\xff\xd8\xff")
        or head.startswith(b"\x89PNG\r\n\x1a\n")
        or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")
    )
    if not is_image:
        raise TelegramFault(400, "Bad Request: IMAGE_PROCESS_FAILED")


def _media_object(kind: str, upload: ReceivedFile) -> dict[str, Any]:
    file = {
        "file_id": f"AgAC{upload.sha256[:40]}",
        "file_unique_id": upload.sha256[:16],
        "file_size": upload.size,
    }
    if kind == "photo":
        return {"photo": [{**file, "width": 90, "height": 90}]}
    return {"video": {**file, "width": 640, "height": 360, "duration": 1, "mime_type": "video/mp4"}}


def _error(
    code: int,
    description: str,
    parameters: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return JSONResponse(body, status_code=code, headers=headers)

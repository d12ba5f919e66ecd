"""Adapter for Telegram channels and groups, spoken to through the Bot API
(core.telegram.org/bots/api).

Credentials (encrypted at rest): `{"bot_token": "123456789:AA..."}`, the token @BotFather gave.
Options (`ConnectedAccount.options`, not secret): `chat_id` (int, the id every call uses),
`chat_type` ("channel", "group" or "supergroup"), `chat_username` (without "@", None for a
private chat), `bot_id` and `bot_username`.

Choices, each for a reason:
- Text goes out as plain text, without `parse_mode`. PostWizard's text is plain, so with
  `parse_mode=HTML` every `<`, `>` and `&` would have to be escaped, and the 4,096-character
  limit would then be counted on the text after Telegram parsed it, not on what we sent. Plain
  text is shown exactly as typed; Telegram still turns links, @mentions and #hashtags into
  entities by itself.
- One attachment goes out with `sendPhoto` / `sendVideo`, 2-10 with `sendMediaGroup` (an album,
  the caption on its first item); files are streamed from disk in multipart parts.
- Reconcile cannot decide: the Bot API has no idempotency key, a bot cannot read a chat's
  history, and it receives no updates about its own messages. So after a lost answer
  `reconcile` raises `UndecidableOutcomeError` and the person looks at the channel.
- Metrics: the Bot API gives bots no view counts of what they sent (`provides_metrics` False);
  account stats are the chat's member count (`getChatMemberCount`) as followers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import IO, Any

import httpx

from postwizard.platforms.http_calls import NOT_SENT, new_client
from postwizard.platforms.limits import MediaKind
from postwizard.platforms.networks import Network
from postwizard.platforms.outgoing import check_request, media_facts, open_media
from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    AuthExpiredError,
    ConnectedAccount,
    ConnectError,
    ConnectField,
    MediaItem,
    PermanentError,
    PlatformError,
    PostMetrics,
    Published,
    PublishRequest,
    RateLimitedError,
    TransientError,
    UndecidableOutcomeError,
    UnknownOutcomeError,
)

DEFAULT_API_URL = "https://api.telegram.org"
# Below the dispatcher's 30 s call timeout, so a slow answer is classified here, not cancelled.
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_RETRY_AFTER_S = 1.0
POSTABLE_CHAT_TYPES = frozenset({"channel", "group", "supergroup"})

# @BotFather's tokens: the bot's numeric id, a colon, then the secret.
_BOT_TOKEN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{20,100}")
# A public channel or group: @name, t.me/name or just name (5-32 letters, digits, underscores).
_CHAT_USERNAME = re.compile(
    r"(?:@|(?:https?://)?(?:t|telegram)\.me/)?([A-Za-z][A-Za-z0-9_]{3,31})/?", re.IGNORECASE
)
_CHAT_NUMERIC_ID = re.compile(r"-?\d{1,20}")
# A 400 whose description says the bot lost its place in the chat: reconnecting (after fixing
# the bot's rights) helps, rewriting the post does not.
_LOST_ACCESS = (
    "not enough rights",
    "need administrator rights",
    "chat not found",
    "bot is not a member",
    "chat_write_forbidden",
    "have no rights to send",
)

CONNECT_FIELDS = (
    ConnectField(
        name="bot_token",
        label="Bot token",
        kind="password",
        help="Create a bot with @BotFather (/newbot) and paste the token it gives you.",
        placeholder="123456789:AAH...",
    ),
    ConnectField(
        name="chat_id",
        label="Channel or group",
        help="@name of a public channel or group, or the numeric id (-100...) of a private one. "
        "Add the bot to it first; in a channel as an admin with the Post Messages right.",
        placeholder="@mychannel",
    ),
)


class ChatMigratedError(AuthExpiredError):
    """The group was upgraded to a supergroup, which has a new id: the account must be
    reconnected with it (Telegram's `parameters.migrate_to_chat_id`)."""

    def __init__(self, new_chat_id: int, *, http_status: int | None = None) -> None:
        super().__init__(
            f"The Telegram group became a supergroup with the id {new_chat_id}. Reconnect the "
            "account with that id.",
            http_status=http_status,
        )
        self.new_chat_id = new_chat_id


class TelegramPlatform:
    network: Network = Network.TELEGRAM
    provides_metrics: bool = False
    connect_fields: Sequence[ConnectField] = CONNECT_FIELDS

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        api_url: str = DEFAULT_API_URL,
    ) -> None:
        # A self-hosted telegram-bot-api server (larger uploads) is another `api_url`.
        self.api_url = api_url.rstrip("/")
        self._owns_client = client is None
        self._client = new_client(client, timeout)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- Connecting --------------------------------------------------------------------------

    async def connect(self, form: Mapping[str, str]) -> ConnectedAccount:
        """Check the token with `getMe`, the chat with `getChat`, and that the bot may post
        there with `getChatMember`."""
        token = form.get("bot_token", "").strip()
        if not _BOT_TOKEN.fullmatch(token):
            raise ConnectError(
                "That is not a Telegram bot token. @BotFather gives one like "
                "123456789:AAH..., the bot's number, a colon and a long secret.",
                field="bot_token",
            )
        chat_ref = chat_reference(form.get("chat_id", ""))
        try:
            me = await self._call(token, "getMe", {}, create=False)
        except PlatformError as error:
            raise _connect_error(
                error,
                field="bot_token",
                refused="Telegram does not accept this bot token: it was revoked or mistyped. "
                "Copy it again from @BotFather (/mybots, API Token).",
            ) from error
        try:
            chat = await self._call(token, "getChat", {"chat_id": chat_ref}, create=False)
        except PlatformError as error:
            raise _connect_error(
                error,
                field="chat_id",
                refused=f"Telegram cannot find the chat {chat_ref} for this bot. Check the @name "
                "or id, and add the bot to the channel or group first.",
            ) from error
        chat_type = str(chat.get("type", ""))
        if chat_type not in POSTABLE_CHAT_TYPES:
            raise ConnectError(
                "PostWizard posts to Telegram channels and groups; this is a private chat with "
                "a person. Enter a channel or group instead.",
                field="chat_id",
            )
        try:
            member = await self._call(
                token, "getChatMember", {"chat_id": chat["id"], "user_id": me["id"]}, create=False
            )
        except PlatformError as error:
            raise _connect_error(
                error,
                field="chat_id",
                refused="The bot cannot see its own membership in this chat. Add the bot as an "
                "admin with the Post Messages right, then connect again.",
            ) from error
        problem = _posting_problem(chat_type, member)
        if problem:
            raise ConnectError(problem, field="chat_id")
        username = chat.get("username")
        title = str(chat.get("title") or username or chat["id"])
        return ConnectedAccount(
            remote_id=str(chat["id"]),
            handle=f"@{username}" if username else title,
            display_name=title,
            credentials={"bot_token": token},
            options={
                "chat_id": chat["id"],
                "chat_type": chat_type,
                "chat_username": username,
                "bot_id": me["id"],
                "bot_username": me.get("username"),
            },
        )

    # --- Publishing --------------------------------------------------------------------------

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        token, chat_id = _token(account), _chat_id(account)
        check_request(Network.TELEGRAM, request)
        fields: dict[str, Any] = {"chat_id": chat_id}
        if _flag(request.options, "silent", "disable_notification"):
            fields["disable_notification"] = True
        if request.reply_to:
            fields["reply_parameters"] = {
                "message_id": message_id_of(request.reply_to),
                # The post answered may have been deleted meanwhile; post anyway.
                "allow_sending_without_reply": True,
            }
        if not request.media:
            fields["text"] = request.text
            if request.options.get("link_preview") is False:
                fields["link_preview_options"] = {"is_disabled": True}
            result = await self._call(token, "sendMessage", fields, create=True)
        elif len(request.media) == 1:
            result = await self._send_one_media(token, fields, request.text, request.media[0])
        else:
            result = await self._send_album(token, fields, request.text, request.media)
        # An album answers with one message per item; the first one carries the caption.
        first = result[0] if isinstance(result, list) else result
        return _published(first)

    async def _send_one_media(
        self, token: str, fields: dict[str, Any], caption: str, item: MediaItem
    ) -> Any:
        is_video = _kind(item) is MediaKind.VIDEO
        field = "video" if is_video else "photo"
        if caption:
            fields["caption"] = caption
        if is_video:
            fields.update(_video_details(item))
        with ExitStack() as files:
            upload = {field: (item.filename, open_media(files, item), item.mime_type)}
            method = "sendVideo" if is_video else "sendPhoto"
            return await self._call(token, method, fields, files=upload, create=True)

    async def _send_album(
        self, token: str, fields: dict[str, Any], caption: str, media: Sequence[MediaItem]
    ) -> Any:
        described: list[dict[str, Any]] = []
        with ExitStack() as files:
            upload: dict[str, tuple[str, IO[bytes], str]] = {}
            for index, item in enumerate(media):
                name = f"file{index}"
                is_video = _kind(item) is MediaKind.VIDEO
                entry: dict[str, Any] = {
                    "type": "video" if is_video else "photo",
                    "media": f"attach://{name}",
                }
                if is_video:
                    entry.update(_video_details(item))
                if index == 0 and caption:
                    entry["caption"] = caption
                described.append(entry)
                upload[name] = (item.filename, open_media(files, item), item.mime_type)
            fields["media"] = described
            return await self._call(token, "sendMediaGroup", fields, files=upload, create=True)

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        """The Bot API cannot tell: see the module docstring. Never guesses, never re-sends."""
        raise UndecidableOutcomeError(
            "Telegram does not let bots check what was posted: a bot cannot read the chat's "
            "history and the Bot API has no idempotency key."
        )

    # --- Numbers -----------------------------------------------------------------------------

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        """Telegram gives bots no view or reaction counts of the messages they sent."""
        return []

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        count = await self._call(
            _token(account), "getChatMemberCount", {"chat_id": _chat_id(account)}, create=False
        )
        return AccountStats(followers=int(count))

    # --- HTTP --------------------------------------------------------------------------------

    async def _call(
        self,
        token: str,
        method: str,
        fields: Mapping[str, Any],
        *,
        create: bool,
        files: Mapping[str, tuple[str, IO[bytes], str]] | None = None,
    ) -> Any:
        """One Bot API method; its `result`, or the error the engine should act on. The token is
        part of the URL, so the URL never appears in a message."""
        url = f"{self.api_url}/bot{token}/{method}"
        try:
            if files is None:
                response = await self._client.post(url, json=dict(fields))
            else:
                # Multipart values are strings; objects go JSON-serialized, as the API asks.
                data = {name: _form_value(value) for name, value in fields.items()}
                response = await self._client.post(url, data=data, files=dict(files))
        except NOT_SENT as error:
            raise TransientError(
                f"Telegram's Bot API is unreachable ({type(error).__name__})."
            ) from error
        except httpx.TransportError as error:
            if create:
                # Sent, but no answer: the message may exist. Never retry without asking.
                raise UnknownOutcomeError(
                    f"No answer from Telegram after sending {method} ({type(error).__name__}); "
                    "the message may or may not have been posted."
                ) from error
            raise TransientError(
                f"Telegram did not answer {method} ({type(error).__name__})."
            ) from error
        return _result(response, method, create=create)


# --- Answers -----------------------------------------------------------------------------------


def _result(response: httpx.Response, method: str, *, create: bool) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    if response.status_code == 200 and body.get("ok") is True:
        return body.get("result")
    status = int(body.get("error_code") or response.status_code)
    description = str(body.get("description") or response.reason_phrase or status)
    reason = _plain(description)
    raw_parameters = body.get("parameters")
    parameters: Mapping[str, Any] = raw_parameters if isinstance(raw_parameters, dict) else {}
    if status == 429:
        raise RateLimitedError(
            f"Telegram is rate-limiting this bot: {reason}.",
            retry_after=_retry_after(parameters, response),
        )
    if status >= 500 or response.status_code >= 500 or status == 200:
        # A 200 that is not an answer (a proxy's page) is no answer either.
        if create:
            raise UnknownOutcomeError(
                f"Telegram answered {method} with {status} ({reason}); the message may or may "
                "not have been posted.",
                http_status=response.status_code,
            )
        raise TransientError(f"Telegram answered {status}: {reason}.", http_status=status)
    if status == 401:
        raise AuthExpiredError(
            "Telegram no longer accepts the bot token (it was revoked or regenerated in "
            "@BotFather). Reconnect the account with the new token.",
            http_status=status,
        )
    if status == 404:
        raise AuthExpiredError(
            "Telegram does not recognise the stored bot token. Reconnect the account.",
            http_status=status,
        )
    migrated_to = parameters.get("migrate_to_chat_id")
    if migrated_to is not None:
        raise ChatMigratedError(int(migrated_to), http_status=status)
    if status == 403 or any(marker in description.lower() for marker in _LOST_ACCESS):
        raise AuthExpiredError(
            f"Telegram refused: {reason}. Add the bot back to the chat as an admin with the "
            "Post Messages right, then reconnect the account.",
            http_status=status,
        )
    raise PermanentError(f"Telegram refused the message: {reason}.", http_status=status)


def _retry_after(parameters: Mapping[str, Any], response: httpx.Response) -> float:
    for value in (parameters.get("retry_after"), response.headers.get("Retry-After")):
        try:
            if value is not None and float(value) >= 0:
                return float(value)
        except ValueError:
            continue
    return DEFAULT_RETRY_AFTER_S


def _plain(description: str) -> str:
    """Telegram's description without its status prefix: "Bad Request: message is too long"
    reads as "message is too long"."""
    for prefix in ("Bad Request: ", "Forbidden: ", "Too Many Requests: ", "Conflict: "):
        if description.startswith(prefix):
            return description[len(prefix) :]
    return description


def _connect_error(error: PlatformError, *, field: str, refused: str) -> ConnectError:
    """What a failed connect step tells the person: the field at fault when Telegram refused
    it, none when Telegram itself could not answer."""
    if isinstance(error, TransientError | RateLimitedError | UnknownOutcomeError):
        return ConnectError(
            f"Telegram could not be asked right now: {error.message} Try again in a moment.",
            http_status=error.http_status,
        )
    if isinstance(error, ChatMigratedError):
        return ConnectError(
            f"This group became a supergroup with the id {error.new_chat_id}. Enter that id.",
            field="chat_id",
            http_status=error.http_status,
        )
    if error.http_status == 401:
        field = "bot_token"
        refused = (
            "Telegram does not accept this bot token: it was revoked or mistyped. Copy it "
            "again from @BotFather (/mybots, API Token)."
        )
    return ConnectError(refused, field=field, http_status=error.http_status)


def _posting_problem(chat_type: str, member: Mapping[str, Any]) -> str | None:
    """Why the bot cannot post in the chat, in words to act on; None when it can."""
    status = member.get("status")
    if chat_type == "channel":
        if status == "administrator" and member.get("can_post_messages"):
            return None
        return (
            "The bot cannot post in this channel. In the channel's settings, add the bot as an "
            "admin with the Post Messages right, then connect again."
        )
    if status in {"creator", "administrator", "member"}:
        return None
    if status == "restricted" and member.get("is_member") and member.get("can_send_messages"):
        return None
    if status == "restricted":
        return (
            "The bot is not allowed to send messages in this group. Lift its restriction or "
            "make it an admin, then connect again."
        )
    return "The bot is not a member of this group. Add the bot to the group, then connect again."


def _published(message: Mapping[str, Any]) -> Published:
    chat = message.get("chat") or {}
    message_id = int(message["message_id"])
    username = chat.get("username")
    # t.me links open only for public chats (those with a username).
    url = f"https://t.me/{username}/{message_id}" if username else None
    date = message.get("date")
    return Published(
        remote_id=f"{chat.get('id')}:{message_id}",
        url=url,
        published_at=datetime.fromtimestamp(date, UTC) if isinstance(date, int) else None,
    )


# --- Requests ----------------------------------------------------------------------------------


def chat_reference(value: str) -> int | str:
    """What the person typed as the chat, as the Bot API's `chat_id`: a number (-100... for
    channels and supergroups) or "@name" (from "@name", "name" or "https://t.me/name")."""
    text = value.strip()
    if _CHAT_NUMERIC_ID.fullmatch(text):
        return int(text)
    match = _CHAT_USERNAME.fullmatch(text)
    if match is None:
        raise ConnectError(
            "Enter the channel or group as @name (a public one) or as its numeric id, e.g. "
            "-1001234567890 (a private one).",
            field="chat_id",
        )
    return f"@{match.group(1)}"


def message_id_of(remote_id: str) -> int:
    """The message id in a remote id "<chat_id>:<message_id>"."""
    _, _, message_id = remote_id.rpartition(":")
    try:
        return int(message_id)
    except ValueError:
        raise PermanentError(f"{remote_id!r} is not a Telegram message id to reply to.") from None


def _token(account: AccountRef) -> str:
    token = account.credentials.get("bot_token", "")
    if not token:
        raise AuthExpiredError("No Telegram bot token is stored for this account. Reconnect it.")
    return token


def _chat_id(account: AccountRef) -> int | str:
    chat_id = account.options.get("chat_id")
    if chat_id is None or chat_id == "":
        raise AuthExpiredError(
            "This Telegram account has no chat stored to post to. Reconnect the account."
        )
    return int(chat_id) if _CHAT_NUMERIC_ID.fullmatch(str(chat_id)) else str(chat_id)


def _flag(options: Mapping[str, Any], *names: str) -> bool:
    return any(options.get(name) is True for name in names)


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _kind(item: MediaItem) -> MediaKind:
    return media_facts(item).kind


def _video_details(item: MediaItem) -> dict[str, Any]:
    details: dict[str, Any] = {"supports_streaming": True}
    if item.width and item.height:
        details.update(width=item.width, height=item.height)
    if item.duration_seconds:
        details["duration"] = round(item.duration_seconds)
    return details

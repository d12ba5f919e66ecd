"""A fake Mastodon server (docs.joinmastodon.org) for contract tests.

It follows the documented REST API closely enough that the adapter cannot tell it from a real
server: OAuth apps (`POST /api/v1/apps`, `GET /oauth/authorize`, `POST /oauth/token`) with
hierarchical scopes, `verify_credentials`, `GET /api/v2/instance` (or only the older
`GET /api/v1/instance` with `max_toot_chars`, as Pleroma-style servers answer), media uploads
(`POST /api/v2/media`: 200 for images, 202 for video and `GET /api/v1/media/:id` answering 206
until processed), `POST /api/v1/statuses` with form or JSON bodies and the `Idempotency-Key`
header (kept an hour per account), the account's statuses newest first with `max_id` paging,
`/source`, and `GET /api/v1/statuses?id[]=` (switchable off, as before Mastodon 4.3).
Statuses carry HTML `content` rendered the way Mastodon renders it (links split into
invisible/ellipsis spans, remote mentions shown as `@user`, paragraphs and `<br />`).
Errors are `{"error": "..."}` with Mastodon's messages; OAuth errors add `error_description`.

`received` records every status it created (each applied create once), so a test can prove
there is no duplicate. Fault switches, each for the next create only: `fail_next_create` (a
status code), `rate_limit_next_create` (429 with `X-RateLimit-Reset` and optionally
`Retry-After`), `hang_after_next_create` (apply, then answer only after the client gave up);
`fail_next_read` (a status code for the next GET); `revoke` a token.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import itertools
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from postwizard.platforms.text_length import grapheme_count, mastodon_length

MIB = 1_048_576
IDEMPOTENCY_TTL = timedelta(hours=1)
DEFAULT_STATUSES_LIMIT = 20  # Api::BaseController: most ids per GET /api/v1/statuses?id[]=
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})
TOP_SCOPES = frozenset({"read", "write", "follow", "push", "profile"})
GRANULAR_SCOPES = frozenset(
    {f"read:{name}" for name in ("accounts", "statuses", "favourites", "lists", "search")}
    | {f"write:{name}" for name in ("accounts", "statuses", "media", "favourites", "lists")}
)
_LINK = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,!?:;)']")
_REMOTE_MENTION = re.compile(r"(?<![=/\w])@(\w+(?:[.-]+\w+)*)@(\w+(?:[.-]+\w+)*)")
_HASHTAG = re.compile(r"(?<![\w&#])#(\w*[^\W\d]\w*)")
_ENTITY = re.compile(f"{_LINK.pattern}|{_REMOTE_MENTION.pattern}|{_HASHTAG.pattern}")


class MastodonError(Exception):
    """An error answer: `{"error": message}` (plus `error_description` for OAuth)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        description: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.description = status, message, description
        self.headers = headers or {}


@dataclass
class FakeApp:
    client_id: str
    client_secret: str
    name: str
    website: str | None
    redirect_uris: list[str]
    scopes: set[str]


@dataclass
class FakeToken:
    account_id: str
    scopes: set[str]
    app: FakeApp | None = None
    revoked: bool = False


@dataclass
class FakeAccount:
    id: str
    username: str
    display_name: str
    followers_count: int = 0
    following_count: int = 0


@dataclass
class FakeMedia:
    id: str
    account_id: str
    kind: str
    mime_type: str
    size: int
    sha256: str
    description: str | None
    polls_left: int
    status_id: str | None = None


@dataclass
class FakeStatus:
    id: str
    account_id: str
    text: str
    created_at: datetime
    spoiler_text: str = ""
    visibility: str = "public"
    language: str | None = None
    sensitive: bool = False
    in_reply_to_id: str | None = None
    media_ids: list[str] = field(default_factory=list)
    app_name: str | None = None
    favourites_count: int = 0
    reblogs_count: int = 0
    replies_count: int = 0
    quotes_count: int = 0


@dataclass(frozen=True)
class RateLimitFault:
    reset_in_s: float
    retry_after_s: int | None = None


class FakeMastodon:
    """One Mastodon server with its accounts, statuses and fault switches."""

    def __init__(
        self,
        *,
        domain: str = "fake.social",
        max_characters: int = 500,
        max_media_attachments: int = 4,
        characters_reserved_per_url: int = 23,
        image_size_limit: int = 16 * MIB,
        video_size_limit: int = 99 * MIB,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.domain = domain
        self.max_characters = max_characters
        self.max_media_attachments = max_media_attachments
        self.characters_reserved_per_url = characters_reserved_per_url
        self.image_size_limit = image_size_limit
        self.video_size_limit = video_size_limit
        self.clock = clock
        self.apps: dict[str, FakeApp] = {}
        self.codes: dict[str, tuple[FakeApp, str, str, set[str]]] = {}
        self.tokens: dict[str, FakeToken] = {}
        self.accounts: dict[str, FakeAccount] = {}
        self.statuses: dict[str, FakeStatus] = {}
        self.media: dict[str, FakeMedia] = {}
        self.idempotency: dict[tuple[str, str], tuple[str, datetime]] = {}
        self.received: list[FakeStatus] = []
        self.create_requests: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        # Behaviour of this server.
        self.has_v2_instance = True
        self.has_batch_statuses = True
        self.has_source = True
        self.video_processing_polls = 2
        self.authorizing_username = "alice"
        # Fault switches.
        self.fail_next_create: int | None = None
        self.rate_limit_next_create: RateLimitFault | None = None
        self.hang_after_next_create: float | None = None
        self.fail_next_read: int | None = None
        self._sequence = itertools.count(1)

    # --- Setting up ---------------------------------------------------------------------------

    def add_account(self, username: str, display_name: str = "", **counts: int) -> FakeAccount:
        account = FakeAccount(
            id=str(100 + len(self.accounts)),
            username=username,
            display_name=display_name or username.title(),
            **counts,
        )
        self.accounts[account.id] = account
        return account

    def account(self, username: str) -> FakeAccount:
        return next(a for a in self.accounts.values() if a.username == username)

    def issue_token(self, username: str, scopes: str = "read write") -> str:
        """A token as if the account had authorized an app (for tests that skip OAuth)."""
        token = secrets.token_urlsafe(24)
        self.tokens[token] = FakeToken(self.account(username).id, set(scopes.split()))
        return token

    def revoke(self, token: str) -> None:
        self.tokens[token].revoked = True

    def add_status(
        self, username: str, text: str, *, created_at: datetime | None = None, **fields: Any
    ) -> FakeStatus:
        """A status posted some other way (not counted in `received`)."""
        status = FakeStatus(
            id=self._new_id(created_at or self.clock()),
            account_id=self.account(username).id,
            text=text,
            created_at=created_at or self.clock(),
            **fields,
        )
        self.statuses[status.id] = status
        return status

    def received_texts(self) -> list[str]:
        return [status.text for status in self.received]

    def _new_id(self, when: datetime) -> str:
        # Mastodon's ids: milliseconds since the epoch, shifted, plus a sequence; they sort by time.
        return str((int(when.timestamp() * 1000) << 16) + next(self._sequence))

    # --- Entities -----------------------------------------------------------------------------

    def account_json(self, account: FakeAccount) -> dict[str, Any]:
        own_statuses = [s for s in self.statuses.values() if s.account_id == account.id]
        return {
            "id": account.id,
            "username": account.username,
            "acct": account.username,
            "display_name": account.display_name,
            "url": f"https://{self.domain}/@{account.username}",
            "followers_count": account.followers_count,
            "following_count": account.following_count,
            "statuses_count": len(own_statuses),
            "bot": False,
            "locked": False,
        }

    def media_json(self, media: FakeMedia) -> dict[str, Any]:
        ready = media.polls_left == 0
        base = f"https://files.{self.domain}/media_attachments/{media.id}"
        return {
            "id": media.id,
            "type": media.kind,
            "url": f"{base}/original" if ready else None,
            "preview_url": f"{base}/small",
            "remote_url": None,
            "description": media.description,
            "meta": {},
            "blurhash": None,
        }

    def status_json(self, status: FakeStatus) -> dict[str, Any]:
        account = self.accounts[status.account_id]
        reply_account = None
        if status.in_reply_to_id and status.in_reply_to_id in self.statuses:
            reply_account = self.statuses[status.in_reply_to_id].account_id
        return {
            "id": status.id,
            "created_at": status.created_at.astimezone(UTC).isoformat(timespec="milliseconds"),
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": reply_account,
            "sensitive": status.sensitive,
            "spoiler_text": status.spoiler_text,
            "visibility": status.visibility,
            "language": status.language,
            "uri": f"https://{self.domain}/users/{account.username}/statuses/{status.id}",
            "url": f"https://{self.domain}/@{account.username}/{status.id}",
            "replies_count": status.replies_count,
            "reblogs_count": status.reblogs_count,
            "favourites_count": status.favourites_count,
            "quotes_count": status.quotes_count,
            "edited_at": None,
            "content": self.render_html(status.text),
            "reblog": None,
            "application": {"name": status.app_name, "website": None} if status.app_name else None,
            "account": self.account_json(account),
            "media_attachments": [self.media_json(self.media[m]) for m in status.media_ids],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def render_html(self, text: str) -> str:
        """`text` as Mastodon's TextFormatter renders it."""
        paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
        return "".join(f"<p>{self._render_paragraph(p)}</p>" for p in paragraphs)

    def _render_paragraph(self, text: str) -> str:
        pieces: list[str] = []
        position = 0
        for match in _ENTITY.finditer(text):
            pieces.append(html.escape(text[position : match.start()], quote=False))
            pieces.append(self._render_entity(match.group()))
            position = match.end()
        pieces.append(html.escape(text[position:], quote=False))
        return "".join(pieces).replace("\n", "<br />")

    def _render_entity(self, entity: str) -> str:
        if entity.startswith("@"):
            user, domain = entity[1:].split("@", 1)
            return (
                f'<span class="h-card" translate="no"><a href="https://{domain}/@{user}" '
                f'class="u-url mention">@<span>{html.escape(user)}</span></a></span>'
            )
        if entity.startswith("#"):
            tag = entity[1:]
            return (
                f'<a href="https://{self.domain}/tags/{tag}" class="mention hashtag" '
                f'rel="tag">#<span>{html.escape(tag)}</span></a>'
            )
        prefix = re.match(r"https?://(?:www\.)?", entity)
        assert prefix is not None
        rest = entity[prefix.end() :]
        shown, hidden = (rest[:30], rest[30:]) if len(rest) > 30 else (rest, "")
        return (
            f'<a href="{html.escape(entity)}" target="_blank" rel="nofollow noopener" '
            f'translate="no"><span class="invisible">{html.escape(prefix.group())}</span>'
            f'<span class="{"ellipsis" if hidden else ""}">{html.escape(shown)}</span>'
            f'<span class="invisible">{html.escape(hidden)}</span></a>'
        )

    # --- Requests -----------------------------------------------------------------------------

    def authenticate(self, request: Request, scope: str) -> FakeAccount:
        header = request.headers.get("Authorization", "")
        token = self.tokens.get(header.removeprefix("Bearer ").strip())
        if token is None:
            raise MastodonError(401, "The access token is invalid")
        if token.revoked:
            raise MastodonError(401, "The access token was revoked")
        if not _grants(token.scopes, scope):
            raise MastodonError(403, "This action is outside the authorized scopes")
        return self.accounts[token.account_id]

    def app(self) -> FastAPI:
        return _build_app(self)


def _grants(scopes: set[str], wanted: str) -> bool:
    """Mastodon's scopes are hierarchical: "write" grants "write:statuses"."""
    return wanted in scopes or wanted.split(":", 1)[0] in scopes


async def _params(request: Request) -> dict[str, Any]:
    """Form (urlencoded or multipart) or JSON parameters; `key[]` fields as lists."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.json()
        return body if isinstance(body, dict) else {}
    form = await request.form()
    params: dict[str, Any] = {}
    for key, value in form.multi_items():
        if key.endswith("[]"):
            params.setdefault(key[:-2], []).append(value)
        else:
            params[key] = value
    return params


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in {"true", "1", "on"}


def _build_app(server: FakeMastodon) -> FastAPI:
    app = FastAPI()

    @app.exception_handler(MastodonError)
    async def render_error(request: Request, error: MastodonError) -> JSONResponse:
        body: dict[str, Any] = {"error": error.message}
        if error.description:
            body["error_description"] = error.description
        return JSONResponse(body, status_code=error.status, headers=error.headers)

    @app.middleware("http")
    async def log_requests(request: Request, call_next: Any) -> Response:
        server.requests.append((request.method, request.url.path))
        if request.method == "GET" and server.fail_next_read is not None:
            status_code, server.fail_next_read = server.fail_next_read, None
            return JSONResponse({"error": "Internal Server Error"}, status_code=status_code)
        response: Response = await call_next(request)
        return response

    # --- OAuth ---------------------------------------------------------------------------------

    @app.post("/api/v1/apps")
    async def create_app(request: Request) -> dict[str, Any]:
        params = await _params(request)
        name, redirect_uris = params.get("client_name"), params.get("redirect_uris")
        if not name:
            raise MastodonError(422, "Validation failed: Application name can't be blank")
        uris = (
            redirect_uris if isinstance(redirect_uris, list) else str(redirect_uris or "").split()
        )
        if not uris or not all(urlsplit(uri).scheme for uri in uris):
            raise MastodonError(422, "Validation failed: Redirect URI must be an absolute URI.")
        scopes = set(str(params.get("scopes") or "read").split())
        if not scopes <= TOP_SCOPES | GRANULAR_SCOPES:
            raise MastodonError(422, "Validation failed: Scopes must be a valid OAuth scope")
        app_ = FakeApp(
            client_id=secrets.token_urlsafe(16),
            client_secret=secrets.token_urlsafe(24),
            name=str(name),
            website=params.get("website"),
            redirect_uris=uris,
            scopes=scopes,
        )
        server.apps[app_.client_id] = app_
        return {
            "id": str(len(server.apps)),
            "name": app_.name,
            "website": app_.website,
            "scopes": sorted(scopes),
            "redirect_uri": "\n".join(uris),
            "redirect_uris": uris,
            "client_id": app_.client_id,
            "client_secret": app_.client_secret,
            "client_secret_expires_at": 0,
        }

    @app.get("/oauth/authorize")
    async def authorize(request: Request) -> Response:
        """The person is signed in as `authorizing_username` and clicks "Authorize"."""
        query = request.query_params
        app_ = server.apps.get(query.get("client_id", ""))
        redirect_uri = query.get("redirect_uri", "")
        if app_ is None or redirect_uri not in app_.redirect_uris:
            raise MastodonError(
                400,
                "invalid_client" if app_ is None else "invalid_redirect_uri",
                description="The client or redirect URI is not registered.",
            )
        scopes = set(query.get("scope", "read").split())
        if query.get("response_type") != "code" or not scopes <= app_.scopes:
            raise MastodonError(400, "invalid_request", description="Bad response type or scope.")
        code = secrets.token_urlsafe(16)
        account = server.account(server.authorizing_username)
        server.codes[code] = (app_, redirect_uri, account.id, scopes)
        state = {"state": query["state"]} if "state" in query else {}
        return RedirectResponse(f"{redirect_uri}?{urlencode({'code': code, **state})}", 302)

    @app.post("/oauth/token")
    async def token(request: Request) -> dict[str, Any]:
        params = await _params(request)
        app_ = server.apps.get(str(params.get("client_id")))
        if app_ is None or app_.client_secret != params.get("client_secret"):
            raise MastodonError(
                401,
                "invalid_client",
                description="Client authentication failed due to unknown client, no client "
                "authentication included, or unsupported authentication method.",
            )
        grant = server.codes.pop(str(params.get("code")), None)
        if (
            params.get("grant_type") != "authorization_code"
            or grant is None
            or grant[0] is not app_
            or grant[1] != params.get("redirect_uri")
        ):
            raise MastodonError(
                400,
                "invalid_grant",
                description="The provided authorization grant is invalid, expired, revoked, "
                "does not match the redirection URI used in the authorization request, or was "
                "issued to another client.",
            )
        access_token = secrets.token_urlsafe(32)
        server.tokens[access_token] = FakeToken(grant[2], grant[3], app_)
        return {
            "access_token": access_token,
            "token_type": "Bearer",
            "scope": " ".join(sorted(grant[3])),
            "created_at": int(server.clock().timestamp()),
        }

    # --- Accounts and instance -----------------------------------------------------------------

    @app.get("/api/v1/accounts/verify_credentials")
    async def verify_credentials(request: Request) -> dict[str, Any]:
        account = server.authenticate(request, "read:accounts")
        return server.account_json(account) | {"source": {"privacy": "public", "note": ""}}

    @app.get("/api/v2/instance")
    async def instance_v2() -> Response:
        if not server.has_v2_instance:
            return Response("<html><body>Not Found</body></html>", 404, media_type="text/html")
        return JSONResponse(
            {
                "domain": server.domain,
                "title": "Fake Social",
                "version": "4.3.0",
                "configuration": {
                    "statuses": {
                        "max_characters": server.max_characters,
                        "max_media_attachments": server.max_media_attachments,
                        "characters_reserved_per_url": server.characters_reserved_per_url,
                    },
                    "media_attachments": {
                        "supported_mime_types": sorted(IMAGE_TYPES | VIDEO_TYPES),
                        "image_size_limit": server.image_size_limit,
                        "image_matrix_limit": 33_177_600,
                        "video_size_limit": server.video_size_limit,
                        "video_frame_rate_limit": 120,
                        "video_matrix_limit": 8_294_400,
                    },
                },
            }
        )

    @app.get("/api/v1/instance")
    async def instance_v1() -> dict[str, Any]:
        # The shape of Pleroma/Akkoma-style servers: no `configuration`, `max_toot_chars`.
        return {
            "uri": f"https://{server.domain}",
            "title": "Fake Social",
            "version": "2.7.2 (compatible; Pleroma 2.6.0)",
            "max_toot_chars": server.max_characters,
            "upload_limit": server.image_size_limit,
        }

    # --- Media -----------------------------------------------------------------------------------

    @app.post("/api/v2/media")
    async def upload_media(request: Request) -> JSONResponse:
        account = server.authenticate(request, "write:media")
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise MastodonError(422, "Validation failed: File can't be blank")
        digest, size = hashlib.sha256(), 0
        while chunk := await upload.read(256 * 1024):
            digest.update(chunk)
            size += len(chunk)
        mime_type = (upload.content_type or "").split(";")[0]
        is_video = mime_type in VIDEO_TYPES
        if mime_type not in IMAGE_TYPES | VIDEO_TYPES:
            raise MastodonError(
                422, "Validation failed: File content type is invalid, File is invalid"
            )
        limit = server.video_size_limit if is_video else server.image_size_limit
        if size > limit:
            raise MastodonError(
                422, f"Validation failed: File file size must be less than {limit // MIB} MB"
            )
        description = form.get("description")
        media = FakeMedia(
            id=str(next(server._sequence) + 40_000),
            account_id=account.id,
            kind="video" if is_video else "image",
            mime_type=mime_type,
            size=size,
            sha256=digest.hexdigest(),
            description=description if isinstance(description, str) else None,
            polls_left=server.video_processing_polls if is_video else 0,
        )
        server.media[media.id] = media
        return JSONResponse(server.media_json(media), status_code=202 if is_video else 200)

    @app.get("/api/v1/media/{media_id}")
    async def get_media(media_id: str, request: Request) -> JSONResponse:
        account = server.authenticate(request, "write:media")
        media = server.media.get(media_id)
        if media is None or media.account_id != account.id:
            raise MastodonError(404, "Record not found")
        if media.polls_left > 0:
            media.polls_left -= 1
            return JSONResponse(server.media_json(media) | {"url": None}, status_code=206)
        return JSONResponse(server.media_json(media))

    # --- Statuses --------------------------------------------------------------------------------

    @app.post("/api/v1/statuses")
    async def create_status(request: Request) -> JSONResponse:
        account = server.authenticate(request, "write:statuses")
        key = request.headers.get("Idempotency-Key")
        params = await _params(request)
        server.create_requests.append({"idempotency_key": key, **params})
        if server.rate_limit_next_create is not None:
            fault, server.rate_limit_next_create = server.rate_limit_next_create, None
            reset = server.clock() + timedelta(seconds=fault.reset_in_s)
            headers = {
                "X-RateLimit-Limit": "300",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": reset.isoformat(timespec="microseconds"),
            }
            if fault.retry_after_s is not None:
                headers["Retry-After"] = str(fault.retry_after_s)
            raise MastodonError(429, "Too many requests", headers=headers)
        if server.fail_next_create is not None:
            status_code, server.fail_next_create = server.fail_next_create, None
            raise MastodonError(status_code, "Internal Server Error")
        now = server.clock()
        if key is not None:
            known = server.idempotency.get((account.id, key))
            if known is not None and now - known[1] < IDEMPOTENCY_TTL:
                return JSONResponse(server.status_json(server.statuses[known[0]]))
        status = _validated_status(server, account, params, now)
        _apply(server, status, request)
        if key is not None:
            server.idempotency[(account.id, key)] = (status.id, now)
        if server.hang_after_next_create is not None:
            delay, server.hang_after_next_create = server.hang_after_next_create, None
            await asyncio.sleep(delay)  # applied, but the client gives up before the answer
        return JSONResponse(server.status_json(status))

    @app.get("/api/v1/statuses")
    async def statuses_by_id(request: Request) -> list[dict[str, Any]]:
        if not server.has_batch_statuses:
            raise MastodonError(404, "Record not found")
        account = server.authenticate(request, "read:statuses")
        ids = request.query_params.getlist("id[]")
        if len(ids) > DEFAULT_STATUSES_LIMIT:
            raise MastodonError(422, "Too many IDs requested")
        found = [server.statuses.get(status_id) for status_id in ids]
        return [server.status_json(s) for s in found if s is not None and _visible(s, account)]

    @app.get("/api/v1/statuses/{status_id}")
    async def get_status(status_id: str, request: Request) -> dict[str, Any]:
        account = server.authenticate(request, "read:statuses")
        status = server.statuses.get(status_id)
        if status is None or not _visible(status, account):
            raise MastodonError(404, "Record not found")
        return server.status_json(status)

    @app.get("/api/v1/statuses/{status_id}/source")
    async def status_source(status_id: str, request: Request) -> dict[str, Any]:
        if not server.has_source:
            raise MastodonError(404, "Record not found")
        account = server.authenticate(request, "read:statuses")
        status = server.statuses.get(status_id)
        if status is None or status.account_id != account.id:
            raise MastodonError(404, "Record not found")
        return {"id": status.id, "text": status.text, "spoiler_text": status.spoiler_text}

    @app.get("/api/v1/accounts/{account_id}/statuses")
    async def account_statuses(account_id: str, request: Request) -> JSONResponse:
        viewer = server.authenticate(request, "read:statuses")
        if account_id not in server.accounts:
            raise MastodonError(404, "Record not found")
        query = request.query_params
        limit = min(int(query.get("limit", 20)), 40)
        found = sorted(
            (
                s
                for s in server.statuses.values()
                if s.account_id == account_id and _visible(s, viewer)
            ),
            key=lambda s: int(s.id),
            reverse=True,
        )
        if "max_id" in query:
            found = [s for s in found if int(s.id) < int(query["max_id"])]
        if _truthy(query.get("exclude_replies")):
            found = [s for s in found if s.in_reply_to_id is None]
        page = found[:limit]
        headers = {}
        if page:
            base = f"{request.base_url}api/v1/accounts/{account_id}/statuses"
            headers["Link"] = (
                f'<{base}?limit={limit}&max_id={page[-1].id}>; rel="next", '
                f'<{base}?limit={limit}&min_id={page[0].id}>; rel="prev"'
            )
        return JSONResponse([server.status_json(s) for s in page], headers=headers)

    return app


def _visible(status: FakeStatus, viewer: FakeAccount) -> bool:
    return status.account_id == viewer.id or status.visibility in {"public", "unlisted"}


def _validated_status(
    server: FakeMastodon, account: FakeAccount, params: dict[str, Any], now: datetime
) -> FakeStatus:
    """The status `params` ask for, or the error PostStatusService would raise."""
    text = str(params.get("status") or "")
    spoiler = str(params.get("spoiler_text") or "")
    media_ids = [str(m) for m in params.get("media_ids") or []]
    if len(media_ids) > server.max_media_attachments:
        raise MastodonError(422, f"Cannot attach more than {server.max_media_attachments} files")
    media = [server.media.get(m) for m in media_ids]
    if any(m is None or m.account_id != account.id or m.status_id for m in media):
        raise MastodonError(422, "Media attachments could not be found")
    attached = [m for m in media if m is not None]
    if any(m.polls_left for m in attached):
        raise MastodonError(
            422, "Cannot attach files that have not finished processing. Try again in a moment!"
        )
    if any(m.kind == "video" for m in attached) and len(attached) > 1:
        raise MastodonError(422, "Cannot attach a video to a post that already contains images")
    if not text.strip() and not attached:
        raise MastodonError(422, "Validation failed: Text can't be blank")
    length = mastodon_length(text, characters_per_url=server.characters_reserved_per_url)
    if length + grapheme_count(spoiler) > server.max_characters:
        raise MastodonError(
            422, f"Validation failed: Text character limit of {server.max_characters} exceeded"
        )
    visibility = str(params.get("visibility") or "public")
    if visibility not in {"public", "unlisted", "private", "direct"}:
        raise MastodonError(422, f"'{visibility}' is not a valid visibility")
    reply_to = params.get("in_reply_to_id")
    if reply_to is not None and str(reply_to) not in server.statuses:
        raise MastodonError(404, "Record not found")
    return FakeStatus(
        id=server._new_id(now),
        account_id=account.id,
        text=text,
        created_at=now,
        spoiler_text=spoiler,
        visibility=visibility,
        language=params.get("language"),
        sensitive=_truthy(params.get("sensitive")) or bool(spoiler and attached),
        in_reply_to_id=str(reply_to) if reply_to is not None else None,
        media_ids=media_ids,
    )


def _apply(server: FakeMastodon, status: FakeStatus, request: Request) -> None:
    token = server.tokens[request.headers["Authorization"].removeprefix("Bearer ").strip()]
    status.app_name = token.app.name if token.app else "Web"
    for media_id in status.media_ids:
        server.media[media_id].status_id = status.id
    if status.in_reply_to_id:
        server.statuses[status.in_reply_to_id].replies_count += 1
    server.statuses[status.id] = status
    server.received.append(status)

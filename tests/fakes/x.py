"""A fake X API v2 (docs.x.com) for contract tests.

It follows the documented endpoints and answers closely enough that the adapter cannot tell it
from X:
- OAuth 2.0 Authorization Code with PKCE: `GET /i/oauth2/authorize` (registered callback URLs
  only, S256 or plain challenge, redirect back with `code` and `state`), `POST /2/oauth2/token`
  (client authentication by Basic header for a confidential client or `client_id` in the body
  for a public one; PKCE verified; `refresh_token` grants rotate the refresh token, the old one
  stops working). Access tokens live two hours. OAuth errors as X answers them:
  `{"error": "invalid_request", "error_description": "Value passed for the token was invalid."}`,
  `{"error": "unauthorized_client", "error_description": "Missing valid authorization header"}`.
- `GET /2/users/me`, `GET /2/users/:id/tweets` (newest first, `start_time`, `max_results`,
  `pagination_token`, `exclude=retweets`), `GET /2/tweets?ids=` (at most 100;
  `non_public_metrics` only for the account's own posts of the last 30 days, otherwise a
  `not-authorized-for-field` error for that post), `POST /2/tweets` (`text`,
  `media.media_ids`, `reply.in_reply_to_tweet_id`).
- Media: `POST /2/media/upload/initialize` (JSON), `POST /2/media/upload/{id}/append`
  (multipart `media` + `segment_index`), `POST /2/media/upload/{id}/finalize`, for video and
  GIFs asynchronous processing polled with `GET /2/media/upload?command=STATUS&media_id=`
  (`processing_info.state`, `check_after_secs`), and `POST /2/media/metadata` for alt text.
- Post text as X stores it: links (twitter-text rules) become `https://t.co/…` links, a post
  with media gets a t.co link to its media appended, `&`, `<`, `>` are escaped.
- Errors are problem details (`type`, `title`, `detail`, `status`), with X's own messages:
  401 `Unauthorized`, 403 bare `Forbidden` for a missing scope, 403 `client-not-enrolled`,
  403 duplicate content and text too long, 400 invalid requests with an `errors` list, 429 with
  `x-rate-limit-*` headers (and `x-user-limit-24hour-*` when the daily quota is spent).

`received` records every post created through `POST /2/tweets` (each applied create once), so a
test can prove there is no duplicate. Fault switches, each for the next create only:
`fail_next_create` (a status code), `rate_limit_next_create` (429), `hang_after_next_create`
(apply, then answer only after the client gave up); `fail_next_read` (a status code for the next
GET); `expire` or `revoke` a token; `client_enrolled = False` (every v2 call refused as
`client-not-enrolled`); `fail_next_processing` (a processing error message).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import itertools
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from postwizard.platforms.text_length import url_spans, x_weighted_length

MIB = 1_048_576
TOKEN_LIFETIME = timedelta(hours=2)
SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
PRIVATE_METRICS_WINDOW = timedelta(days=30)
KNOWN_SCOPES = frozenset(
    {
        "tweet.read",
        "tweet.write",
        "users.read",
        "offline.access",
        "media.write",
        "like.read",
        "follows.read",
    }
)
MEDIA_LIMITS = {"tweet_image": 5 * MIB, "tweet_gif": 15 * MIB, "tweet_video": 512 * MIB}
MEDIA_TYPES = {
    "tweet_image": frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
    "tweet_gif": frozenset({"image/gif"}),
    "tweet_video": frozenset({"video/mp4", "video/quicktime"}),
}
INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
TOO_LONG_DETAIL = (
    "Your Tweet text is too long. For more information on how X determines text length see "
    "https://github.com/twitter/twitter-text."
)


class XProblem(Exception):
    """An error answer: a problem-details (or OAuth error) body with a status."""

    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def problem(status: int, title: str, detail: str, type_: str = "about:blank") -> XProblem:
    return XProblem(status, {"title": title, "detail": detail, "type": type_, "status": status})


def invalid_request(message: str, parameter: str) -> XProblem:
    return XProblem(
        400,
        {
            "errors": [{"parameters": {parameter: []}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": INVALID_REQUEST,
        },
    )


def oauth_error(status: int, error: str, description: str) -> XProblem:
    return XProblem(status, {"error": error, "error_description": description})


@dataclass
class FakeUser:
    id: str
    username: str
    name: str
    followers_count: int = 0
    following_count: int = 0


@dataclass
class FakeToken:
    user_id: str
    scopes: set[str]
    expires_at: datetime
    revoked: bool = False


@dataclass
class FakeCode:
    user_id: str
    redirect_uri: str
    scopes: set[str]
    challenge: str
    method: str


@dataclass
class FakeMedia:
    id: str
    user_id: str
    media_type: str
    category: str
    total_bytes: int
    chunks: dict[int, bytes] = field(default_factory=dict)
    finalized: bool = False
    polls_left: int = 0
    failure: str | None = None
    alt_text: str | None = None
    attached_to: str | None = None
    status_polls: list[float] = field(default_factory=list)

    @property
    def key(self) -> str:
        prefix = {"tweet_video": "7", "tweet_gif": "16"}.get(self.category, "3")
        return f"{prefix}_{self.id}"

    @property
    def content(self) -> bytes:
        return b"".join(self.chunks[index] for index in sorted(self.chunks))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def ready(self) -> bool:
        return (
            self.finalized
            and self.polls_left == 0
            and self.failure is None
            and self.attached_to is None
        )


@dataclass
class FakeTweet:
    id: str
    user_id: str
    sent_text: str
    text: str
    created_at: datetime
    entities: list[dict[str, Any]] = field(default_factory=list)
    media_ids: list[str] = field(default_factory=list)
    media_keys: list[str] = field(default_factory=list)
    in_reply_to: str | None = None
    is_retweet: bool = False
    impressions: int = 0
    likes: int = 0
    retweets: int = 0
    replies: int = 0
    quotes: int = 0
    bookmarks: int = 0
    url_link_clicks: int = 0
    user_profile_clicks: int = 0


@dataclass(frozen=True)
class RateLimitFault:
    reset_in_s: float
    daily: bool = False  # the 24-hour posting quota ran out (x-user-limit-24hour-*)


class FakeX:
    """X with one developer app (`client_id`, `client_secret`, registered `callback_urls`), its
    users, posts and media, and fault switches."""

    def __init__(
        self,
        *,
        client_id: str = "fake-client-id",
        client_secret: str = "fake-client-secret",
        callback_urls: tuple[str, ...] = (),
        confidential: bool = True,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.callback_urls = set(callback_urls)
        self.confidential = confidential
        self.clock = clock
        self.users: dict[str, FakeUser] = {}
        self.codes: dict[str, FakeCode] = {}
        self.tokens: dict[str, FakeToken] = {}
        self.refresh_tokens: dict[str, tuple[str, set[str]]] = {}
        self.tweets: dict[str, FakeTweet] = {}
        self.media: dict[str, FakeMedia] = {}
        self.received: list[FakeTweet] = []
        self.create_bodies: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str]] = []
        self.metrics_fields: list[str] = []
        self.token_requests: list[dict[str, str]] = []
        # Behaviour.
        self.authorizing_username = "alice"
        self.processing_polls = 2
        self.check_after_secs = 1
        self.client_enrolled = True
        # Fault switches.
        self.fail_next_create: int | None = None
        self.rate_limit_next_create: RateLimitFault | None = None
        self.hang_after_next_create: float | None = None
        self.fail_next_read: int | None = None
        self.fail_next_processing: str | None = None
        self._sequence = itertools.count(1)

    # --- Setting up ---------------------------------------------------------------------------

    def add_user(self, username: str, name: str = "", **counts: int) -> FakeUser:
        user = FakeUser(
            id=str(1_500_000 + len(self.users)),
            username=username,
            name=name or username.title(),
            **counts,
        )
        self.users[user.id] = user
        return user

    def user(self, username: str) -> FakeUser:
        return next(u for u in self.users.values() if u.username == username)

    def issue_token(
        self, username: str, scopes: str, *, expires_in: timedelta = TOKEN_LIFETIME
    ) -> str:
        """An access token as if the account had authorized the app (tests that skip OAuth)."""
        token = secrets.token_urlsafe(32)
        self.tokens[token] = FakeToken(
            self.user(username).id, set(scopes.split()), self.clock() + expires_in
        )
        return token

    def issue_refresh_token(self, username: str, scopes: str) -> str:
        refresh = secrets.token_urlsafe(32)
        self.refresh_tokens[refresh] = (self.user(username).id, set(scopes.split()))
        return refresh

    def expire(self, token: str) -> None:
        self.tokens[token].expires_at = self.clock() - timedelta(seconds=1)

    def revoke(self, token: str) -> None:
        self.tokens[token].revoked = True

    def add_tweet(
        self, username: str, text: str, *, created_at: datetime | None = None, **fields: Any
    ) -> FakeTweet:
        """A post made some other way (not counted in `received`)."""
        tweet = self._new_tweet(self.user(username), text, [], None, created_at or self.clock())
        for name, value in fields.items():
            setattr(tweet, name, value)
        self.tweets[tweet.id] = tweet
        return tweet

    def received_texts(self) -> list[str]:
        return [tweet.sent_text for tweet in self.received]

    def new_id(self, when: datetime) -> str:
        milliseconds = int(when.timestamp() * 1000) - SNOWFLAKE_EPOCH_MS
        return str((milliseconds << 22) | (next(self._sequence) % 4096))

    # --- How X stores a post ---------------------------------------------------------------------

    def _new_tweet(
        self,
        user: FakeUser,
        text: str,
        media_ids: list[str],
        reply_to: str | None,
        created_at: datetime,
    ) -> FakeTweet:
        tweet_id = self.new_id(created_at)
        normalized = unicodedata.normalize("NFC", text).strip()
        pieces: list[str] = []
        links: list[tuple[str, str]] = []
        position = 0
        for start, end in url_spans(normalized):
            link = normalized[start:end]
            short = f"https://t.co/{secrets.token_hex(5)}"
            pieces += [html.escape(normalized[position:start], quote=False), short]
            links.append((short, link if "://" in link else f"http://{link}"))
            position = end
        pieces.append(html.escape(normalized[position:], quote=False))
        stored = "".join(pieces)
        entities = []
        for short, expanded in links:
            start = stored.index(short)
            entities.append(
                {
                    "start": start,
                    "end": start + len(short),
                    "url": short,
                    "expanded_url": expanded,
                    "display_url": expanded.split("://", 1)[1][:26],
                }
            )
        media_keys = [self.media[m].key for m in media_ids]
        if media_ids:
            short = f"https://t.co/{secrets.token_hex(5)}"
            stored = f"{stored} {short}" if stored else short
            kind = "video" if self.media[media_ids[0]].category == "tweet_video" else "photo"
            start = stored.index(short)
            entities.append(
                {
                    "start": start,
                    "end": start + len(short),
                    "url": short,
                    "expanded_url": f"https://x.com/{user.username}/status/{tweet_id}/{kind}/1",
                    "display_url": f"pic.x.com/{secrets.token_hex(5)}",
                    "media_key": media_keys[0],
                }
            )
        return FakeTweet(
            id=tweet_id,
            user_id=user.id,
            sent_text=text,
            text=stored,
            created_at=created_at,
            entities=entities,
            media_ids=media_ids,
            media_keys=media_keys,
            in_reply_to=reply_to,
        )

    def tweet_json(self, tweet: FakeTweet, fields: set[str]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": tweet.id,
            "text": tweet.text,
            "edit_history_tweet_ids": [tweet.id],
        }
        if "created_at" in fields:
            body["created_at"] = tweet.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if "entities" in fields and tweet.entities:
            body["entities"] = {"urls": tweet.entities}
        if "attachments" in fields and tweet.media_keys:
            body["attachments"] = {"media_keys": tweet.media_keys}
        if "referenced_tweets" in fields and tweet.in_reply_to:
            body["referenced_tweets"] = [{"type": "replied_to", "id": tweet.in_reply_to}]
        if "public_metrics" in fields:
            body["public_metrics"] = {
                "retweet_count": tweet.retweets,
                "reply_count": tweet.replies,
                "like_count": tweet.likes,
                "quote_count": tweet.quotes,
                "bookmark_count": tweet.bookmarks,
                "impression_count": tweet.impressions,
            }
        if "non_public_metrics" in fields:
            body["non_public_metrics"] = {
                "impression_count": tweet.impressions,
                "url_link_clicks": tweet.url_link_clicks,
                "user_profile_clicks": tweet.user_profile_clicks,
            }
        return body

    # --- Requests -------------------------------------------------------------------------------

    def authenticate(self, request: Request, *scopes: str) -> FakeUser:
        header = request.headers.get("Authorization", "")
        token = self.tokens.get(header.removeprefix("Bearer ").strip())
        if token is None or token.revoked or token.expires_at <= self.clock():
            raise problem(401, "Unauthorized", "Unauthorized")
        if not self.client_enrolled:
            raise XProblem(
                403,
                {
                    "client_id": self.client_id,
                    "detail": "When authenticating requests to the Twitter API v2 endpoints, "
                    "you must use keys and tokens from a Twitter developer App that is attached "
                    "to a Project. You can create a project via the developer portal.",
                    "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
                    "title": "Client Forbidden",
                    "required_enrollment": "Appropriate Level of API Access",
                    "reason": "client-not-enrolled",
                    "type": "https://api.twitter.com/2/problems/client-forbidden",
                },
            )
        if not set(scopes) <= token.scopes:
            raise problem(403, "Forbidden", "Forbidden")
        return self.users[token.user_id]

    def app(self) -> FastAPI:
        return _build_app(self)


def _fields(request: Request, name: str) -> set[str]:
    return set(filter(None, request.query_params.get(name, "").split(",")))


def _verify_pkce(code: FakeCode, verifier: str) -> bool:
    if code.method == "plain":
        return secrets.compare_digest(code.challenge, verifier)
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return secrets.compare_digest(code.challenge, expected)


def _build_app(server: FakeX) -> FastAPI:
    app = FastAPI()

    @app.exception_handler(XProblem)
    async def render(request: Request, error: XProblem) -> JSONResponse:
        media_type = "application/json" if "error" in error.body else "application/problem+json"
        return JSONResponse(
            error.body, status_code=error.status, headers=error.headers, media_type=media_type
        )

    @app.middleware("http")
    async def log_requests(request: Request, call_next: Any) -> Response:
        server.requests.append((request.method, request.url.path))
        if request.method == "GET" and server.fail_next_read is not None:
            status_code, server.fail_next_read = server.fail_next_read, None
            body = {
                "title": "Service Unavailable",
                "detail": "Service Unavailable",
                "type": "about:blank",
                "status": status_code,
            }
            return JSONResponse(body, status_code=status_code)
        response: Response = await call_next(request)
        return response

    # --- OAuth ------------------------------------------------------------------------------------

    @app.get("/i/oauth2/authorize")
    async def authorize(request: Request) -> Response:
        """The person is signed in as `authorizing_username` and clicks "Authorize app"."""
        query = request.query_params
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != server.client_id or redirect_uri not in server.callback_urls:
            return PlainTextResponse(
                "Something went wrong. You weren't able to give access to the App.", 400
            )
        scopes = set(query.get("scope", "").split())
        method = query.get("code_challenge_method", "plain")
        if (
            query.get("response_type") != "code"
            or not scopes
            or not scopes <= KNOWN_SCOPES
            or not query.get("code_challenge")
            or method not in {"S256", "plain"}
            or not query.get("state")
        ):
            return PlainTextResponse(
                "Something went wrong. You weren't able to give access to the App.", 400
            )
        code = secrets.token_urlsafe(24)
        server.codes[code] = FakeCode(
            user_id=server.user(server.authorizing_username).id,
            redirect_uri=redirect_uri,
            scopes=scopes,
            challenge=query["code_challenge"],
            method=method,
        )
        target = f"{redirect_uri}?{urlencode({'state': query['state'], 'code': code})}"
        return RedirectResponse(target, 302)

    @app.post("/2/oauth2/token")
    async def token(request: Request) -> dict[str, Any]:
        form = {key: str(value) for key, value in (await request.form()).items()}
        server.token_requests.append(form)
        header = request.headers.get("Authorization", "")
        if server.confidential:
            try:
                decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
            except ValueError:
                decoded = ""
            if (
                not header.startswith("Basic ")
                or decoded != f"{server.client_id}:{server.client_secret}"
            ):
                raise oauth_error(401, "unauthorized_client", "Missing valid authorization header")
        elif form.get("client_id") != server.client_id:
            raise oauth_error(400, "invalid_request", "Missing required parameter [client_id].")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = server.codes.pop(form.get("code", ""), None)
            if code is None or code.redirect_uri != form.get("redirect_uri"):
                raise oauth_error(
                    400, "invalid_request", "Value passed for the authorization code was invalid."
                )
            if not _verify_pkce(code, form.get("code_verifier", "")):
                raise oauth_error(
                    400, "invalid_request", "Value passed for the code verifier was invalid."
                )
            user_id, scopes = code.user_id, code.scopes
        elif grant == "refresh_token":
            found = server.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if found is None:
                raise oauth_error(400, "invalid_request", "Value passed for the token was invalid.")
            user_id, scopes = found
        else:
            raise oauth_error(400, "unsupported_grant_type", "grant_type not supported")
        access = secrets.token_urlsafe(32)
        server.tokens[access] = FakeToken(user_id, set(scopes), server.clock() + TOKEN_LIFETIME)
        answer: dict[str, Any] = {
            "token_type": "bearer",
            "expires_in": int(TOKEN_LIFETIME.total_seconds()),
            "access_token": access,
            "scope": " ".join(sorted(scopes)),
        }
        if "offline.access" in scopes:
            refresh = secrets.token_urlsafe(32)
            server.refresh_tokens[refresh] = (user_id, set(scopes))
            answer["refresh_token"] = refresh
        return answer

    # --- Users --------------------------------------------------------------------------------------

    @app.get("/2/users/me")
    async def me(request: Request) -> dict[str, Any]:
        user = server.authenticate(request, "users.read", "tweet.read")
        data: dict[str, Any] = {"id": user.id, "name": user.name, "username": user.username}
        if "public_metrics" in _fields(request, "user.fields"):
            data["public_metrics"] = {
                "followers_count": user.followers_count,
                "following_count": user.following_count,
                "tweet_count": sum(1 for t in server.tweets.values() if t.user_id == user.id),
                "listed_count": 0,
                "like_count": 0,
                "media_count": 0,
            }
        return {"data": data}

    @app.get("/2/users/{user_id}/tweets")
    async def timeline(user_id: str, request: Request) -> dict[str, Any]:
        server.authenticate(request, "tweet.read", "users.read")
        query = request.query_params
        max_results = int(query.get("max_results", 10))
        if not 5 <= max_results <= 100:
            raise invalid_request(
                f"The `max_results` query parameter value [{max_results}] is not between 5 and 100",
                "max_results",
            )
        posts = sorted(
            (t for t in server.tweets.values() if t.user_id == user_id),
            key=lambda t: int(t.id),
            reverse=True,
        )
        if "retweets" in query.get("exclude", ""):
            posts = [t for t in posts if not t.is_retweet]
        if "start_time" in query:
            since = datetime.fromisoformat(query["start_time"].replace("Z", "+00:00"))
            posts = [t for t in posts if t.created_at >= since]
        offset = int(query.get("pagination_token") or 0)
        page = posts[offset : offset + max_results]
        fields = _fields(request, "tweet.fields")
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta |= {"newest_id": page[0].id, "oldest_id": page[-1].id}
        if offset + max_results < len(posts):
            meta["next_token"] = str(offset + max_results)
        body: dict[str, Any] = {"meta": meta}
        if page:
            body["data"] = [server.tweet_json(t, fields) for t in page]
        return body

    # --- Posts ----------------------------------------------------------------------------------------

    @app.get("/2/tweets")
    async def lookup(request: Request) -> dict[str, Any]:
        user = server.authenticate(request, "tweet.read", "users.read")
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if not 1 <= len(ids) <= 100:
            raise invalid_request(
                f"The number of values in the `ids` query parameter list [{len(ids)}] is not "
                "between 1 and 100",
                "ids",
            )
        fields = _fields(request, "tweet.fields")
        server.metrics_fields.append(",".join(sorted(fields)))
        data, errors = [], []
        for tweet_id in ids:
            tweet = server.tweets.get(tweet_id)
            if tweet is None:
                errors.append(
                    {
                        "value": tweet_id,
                        "detail": f"Could not find tweet with ids: [{tweet_id}].",
                        "title": "Not Found Error",
                        "resource_type": "tweet",
                        "parameter": "ids",
                        "resource_id": tweet_id,
                        "type": "https://api.twitter.com/2/problems/resource-not-found",
                    }
                )
                continue
            private_allowed = (
                tweet.user_id == user.id
                and server.clock() - tweet.created_at < PRIVATE_METRICS_WINDOW
            )
            if "non_public_metrics" in fields and not private_allowed:
                errors.append(
                    {
                        "value": tweet_id,
                        "detail": "Sorry, you are not authorized to access 'non_public_metrics' "
                        f"on the Tweet with ids: [{tweet_id}].",
                        "title": "Field Authorization Error",
                        "resource_type": "tweet",
                        "parameter": "non_public_metrics",
                        "resource_id": tweet_id,
                        "section": "data",
                        "field": "non_public_metrics",
                        "type": "https://api.twitter.com/2/problems/not-authorized-for-field",
                    }
                )
                continue
            data.append(server.tweet_json(tweet, fields))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return body

    @app.post("/2/tweets")
    async def create(request: Request) -> JSONResponse:
        user = server.authenticate(request, "tweet.read", "tweet.write", "users.read")
        body = await request.json()
        server.create_bodies.append(body)
        if server.rate_limit_next_create is not None:
            fault, server.rate_limit_next_create = server.rate_limit_next_create, None
            reset = str(int(time.time() + fault.reset_in_s))
            headers = {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0" if not fault.daily else "99",
                "x-rate-limit-reset": reset if not fault.daily else str(int(time.time() + 60)),
            }
            if fault.daily:
                headers |= {
                    "x-user-limit-24hour-limit": "17",
                    "x-user-limit-24hour-remaining": "0",
                    "x-user-limit-24hour-reset": reset,
                }
            error = problem(429, "Too Many Requests", "Too Many Requests")
            raise XProblem(429, error.body, headers)
        if server.fail_next_create is not None:
            status_code, server.fail_next_create = server.fail_next_create, None
            raise problem(status_code, "Service Unavailable", "Service Unavailable")
        tweet = _validated_tweet(server, user, body)
        server.tweets[tweet.id] = tweet
        server.received.append(tweet)
        for media_id in tweet.media_ids:
            server.media[media_id].attached_to = tweet.id  # a media id attaches to one post
        if tweet.in_reply_to:
            server.tweets[tweet.in_reply_to].replies += 1
        if server.hang_after_next_create is not None:
            delay, server.hang_after_next_create = server.hang_after_next_create, None
            await asyncio.sleep(delay)  # applied, but the client gives up before the answer
        return JSONResponse(
            {"data": {"id": tweet.id, "text": tweet.text, "edit_history_tweet_ids": [tweet.id]}},
            status_code=201,
        )

    # --- Media ------------------------------------------------------------------------------------------

    @app.post("/2/media/upload/initialize")
    async def initialize(request: Request) -> dict[str, Any]:
        user = server.authenticate(request, "media.write")
        body = await request.json()
        category = str(body.get("media_category") or "tweet_image")
        media_type = str(body.get("media_type") or "")
        total = body.get("total_bytes")
        if category not in MEDIA_TYPES or media_type not in MEDIA_TYPES[category]:
            raise invalid_request(
                f"Unsupported media_type {media_type} for {category}.", "media_type"
            )
        if not isinstance(total, int) or total <= 0:
            raise invalid_request("total_bytes must be a positive integer.", "total_bytes")
        if total > MEDIA_LIMITS[category]:
            raise invalid_request(
                f"File size exceeds {MEDIA_LIMITS[category]} bytes.", "total_bytes"
            )
        media = FakeMedia(
            id=server.new_id(server.clock()),
            user_id=user.id,
            media_type=media_type,
            category=category,
            total_bytes=total,
        )
        server.media[media.id] = media
        return {"data": {"id": media.id, "media_key": media.key, "expires_after_secs": 86_400}}

    def own_media(media_id: str, user: FakeUser) -> FakeMedia:
        media = server.media.get(media_id)
        if media is None or media.user_id != user.id:
            raise invalid_request(f"Media id {media_id} was not found.", "id")
        return media

    @app.post("/2/media/upload/{media_id}/append")
    async def append(media_id: str, request: Request) -> dict[str, Any]:
        user = server.authenticate(request, "media.write")
        media = own_media(media_id, user)
        form = await request.form()
        upload, segment = form.get("media"), form.get("segment_index")
        if not isinstance(upload, UploadFile) or not isinstance(segment, str):
            raise invalid_request("media and segment_index are required.", "media")
        index = int(segment)
        if not 0 <= index <= 999:
            raise invalid_request("segment_index must be between 0 and 999.", "segment_index")
        chunk = await upload.read()
        if len(chunk) > 5 * MIB:
            raise invalid_request("Segment exceeds 5 MB.", "media")
        media.chunks[index] = chunk
        return {"data": {"expires_at": int(time.time()) + 86_400}}

    @app.post("/2/media/upload/{media_id}/finalize")
    async def finalize(media_id: str, request: Request) -> dict[str, Any]:
        user = server.authenticate(request, "media.write")
        media = own_media(media_id, user)
        if len(media.content) != media.total_bytes:
            raise invalid_request("Segments do not add up to provided total file size.", "id")
        media.finalized = True
        data: dict[str, Any] = {
            "id": media.id,
            "media_key": media.key,
            "size": media.total_bytes,
            "expires_after_secs": 86_400,
        }
        if media.category in {"tweet_video", "tweet_gif"}:
            media.polls_left = server.processing_polls
            media.failure, server.fail_next_processing = server.fail_next_processing, None
            data["processing_info"] = {
                "state": "pending",
                "check_after_secs": server.check_after_secs,
            }
        return {"data": data}

    @app.get("/2/media/upload")
    async def status(request: Request) -> dict[str, Any]:
        user = server.authenticate(request, "media.write")
        if request.query_params.get("command") != "STATUS":
            raise invalid_request("command must be STATUS.", "command")
        media = own_media(request.query_params.get("media_id", ""), user)
        media.status_polls.append(time.monotonic())
        data: dict[str, Any] = {"id": media.id, "media_key": media.key}
        if media.polls_left > 0:
            media.polls_left -= 1
        if media.polls_left > 0:
            data["processing_info"] = {
                "state": "in_progress",
                "check_after_secs": server.check_after_secs,
                "progress_percent": 50,
            }
        elif media.failure:
            data["processing_info"] = {
                "state": "failed",
                "progress_percent": 100,
                "error": {"code": 1, "name": "InvalidMedia", "message": media.failure},
            }
        else:
            data["processing_info"] = {"state": "succeeded", "progress_percent": 100}
        return {"data": data}

    @app.post("/2/media/metadata")
    async def metadata(request: Request) -> dict[str, Any]:
        user = server.authenticate(request, "media.write")
        body = await request.json()
        media = own_media(str(body.get("id")), user)
        alt = ((body.get("metadata") or {}).get("alt_text") or {}).get("text")
        if not isinstance(alt, str) or len(alt) > 1000:
            raise invalid_request("alt_text.text must be at most 1000 characters.", "metadata")
        media.alt_text = alt
        return {"data": {"id": media.id, "associated_metadata": {"alt_text": {"text": alt}}}}

    return app


def _validated_tweet(server: FakeX, user: FakeUser, body: dict[str, Any]) -> FakeTweet:
    """The post `body` asks for, or the error X would answer."""
    text = str(body.get("text") or "")
    media_ids = [str(m) for m in (body.get("media") or {}).get("media_ids") or []]
    reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
    if not text.strip() and not media_ids:
        raise invalid_request("Post text or media is required.", "text")
    if len(media_ids) > 4:
        raise invalid_request("Your media IDs are invalid.", "media.media_ids")
    for media_id in media_ids:
        media = server.media.get(media_id)
        if media is None or media.user_id != user.id or not media.ready:
            raise invalid_request("Your media IDs are invalid.", "media.media_ids")
    if x_weighted_length(text) > 280:
        raise problem(403, "Forbidden", TOO_LONG_DETAIL)
    normalized = unicodedata.normalize("NFC", text).strip()
    if normalized and any(
        t.user_id == user.id and unicodedata.normalize("NFC", t.sent_text).strip() == normalized
        for t in server.tweets.values()
    ):
        raise problem(403, "Forbidden", DUPLICATE_DETAIL)
    if reply_to is not None and str(reply_to) not in server.tweets:
        raise problem(
            403,
            "Forbidden",
            "You attempted to reply to a Tweet that is deleted or not visible to you.",
        )
    return server._new_tweet(
        user, text, media_ids, str(reply_to) if reply_to else None, server.clock()
    )

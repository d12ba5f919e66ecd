"""Adapter for Threads, spoken to through the Threads API (graph.threads.net).

Connecting: Threads OAuth (`threads.net/oauth/authorize` → `POST /oauth/access_token`, a
short-lived token) and at once `GET /access_token?grant_type=th_exchange_token` (a long-lived
token, valid 60 days). Threads does not use PKCE; the code is bound to PostWizard's app by its
secret and to the redirect URI. Long-lived tokens are renewed with
`GET /refresh_access_token?grant_type=th_refresh_token` once they are at least 24 hours old and
before they run out (`needs_refresh`); an expired one cannot be renewed, so a token Threads no
longer accepts is always `AuthExpiredError` (reconnect), never `TokenExpiredError`.

Publishing: a container (`POST /{user}/threads`), polled until `FINISHED` when it carries media
(Threads downloads the media from the URL it is given, so every attachment needs PostWizard's
signed `public_url`), then `POST /{user}/threads_publish`. Only the publish call creates a post:
an unpublished container expires after 24 hours, so a failed container is simply retried. The
daily cap of 250 posts is counted by the engine; `threads_publishing_limit` is read before each
post as well, since posts made elsewhere (the app, other tools) count too.

Reconcile: the account's threads (replies: its replies) since the first attempt, compared by
text and kind of media. Metrics: `/{media}/insights`; followers: `/{user}/threads_insights`.

Credentials (encrypted at rest): `access_token`, `expires_at` and `issued_at` (ISO 8601), and
`user_id`. Options (`ConnectedAccount.options`): `user_id`, `username`.
`PublishRequest.options`: `reply_control` (everyone, accounts_you_follow, mentioned_only,
parent_post_author_only, followers_only).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from postwizard.platforms.http_calls import new_client, send
from postwizard.platforms.meta.media_urls import is_publicly_reachable
from postwizard.platforms.networks import Network
from postwizard.platforms.oauth2 import authorization_url, code_grant, stored_time
from postwizard.platforms.outgoing import check_request
from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    AuthExpiredError,
    ConnectedAccount,
    ConnectError,
    ConnectField,
    MediaItem,
    OAuthStart,
    PermanentError,
    PlatformError,
    PostMetrics,
    Published,
    PublishRequest,
    RateLimitedError,
    TransientError,
    UnknownOutcomeError,
)

DEFAULT_API_URL = "https://graph.threads.net"
DEFAULT_API_VERSION = "v1.0"
DEFAULT_AUTHORIZE_URL = "https://threads.net/oauth/authorize"
DEFAULT_TOKEN_URL = "https://graph.threads.net/oauth/access_token"  # noqa: S105 (a URL)
DEFAULT_SCOPES = ("threads_basic", "threads_content_publish", "threads_manage_insights")
# Below the dispatcher's 30 s call timeout, so a slow answer is classified here, not cancelled.
DEFAULT_TIMEOUT_S = 20.0
DEFAULT_CONTAINER_TIMEOUT_S = 20.0
"""How long publishing waits for Threads to fetch and process media: inside the engine's
30-second budget for one call, so a longer wait ends as a clean `TransientError`."""
MAX_POLL_INTERVAL_S = 5.0
DEFAULT_RETRY_AFTER_S = 600.0
"""After a rate limit with no usable header: Meta's call limits count over rolling hours."""
QUOTA_RETRY_AFTER_S = 3600.0
"""When `threads_publishing_limit` says the 24-hour quota is used up: Threads does not say when
the oldest post leaves the window, so look again in an hour."""
REFRESH_AHEAD = timedelta(days=7)
MIN_TOKEN_AGE_FOR_REFRESH = timedelta(hours=24)  # Threads refuses to refresh younger tokens
CLOCK_SKEW = timedelta(minutes=5)
RECONCILE_PAGE_SIZE = 100  # the most GET /{user}/threads returns at once
RECONCILE_MAX_PAGES = 10
REPLY_CONTROLS = frozenset(
    {
        "everyone",
        "accounts_you_follow",
        "mentioned_only",
        "parent_post_author_only",
        "followers_only",
    }
)
# Graph API error codes (developers.facebook.com/docs/graph-api/guides/error-handling).
TOKEN_CODES = frozenset({102, 190})
RATE_LIMIT_CODES = frozenset({4, 17, 32, 341, 613}) | frozenset(range(80001, 80015))
TRANSIENT_CODES = frozenset({2})
_MEDIA_FIELDS = "id,text,timestamp,permalink,media_type"
# What Threads answers a container's `error_message` with, in words a person can act on.
_CONTAINER_ERRORS = {
    "FAILED_DOWNLOADING_VIDEO": "Threads could not download the video from PostWizard's public "
    "address",
    "FAILED_PROCESSING_VIDEO": "Threads could not process the video",
    "FAILED_PROCESSING_AUDIO": "Threads could not process the video's sound",
    "INVALID_ASPEC_RATIO": "the video's aspect ratio is outside 0.01:1 to 10:1",
    "INVALID_BIT_RATE": "the video's bit rate is not accepted",
    "INVALID_DURATION": "the video is too short or longer than 5 minutes",
    "INVALID_FRAME_RATE": "the video's frame rate is outside 23-60 FPS",
    "INVALID_AUDIO_CHANNELS": "the video's sound has an unsupported number of channels",
    "INVALID_AUDIO_CHANNEL_LAYOUT": "the video's sound has an unsupported channel layout",
}
PUBLIC_URL_ADVICE = (
    "Threads fetches media from PostWizard's public address, which it cannot reach. Set "
    "POSTWIZARD_PUBLIC_URL to an address reachable from the internet."
)


class ThreadsPlatform:
    """Threads profiles, connected by Threads OAuth with PostWizard's own Threads app."""

    network = Network.THREADS
    provides_metrics = True
    connect_fields: Sequence[ConnectField] = ()

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        api_url: str = DEFAULT_API_URL,
        api_version: str = DEFAULT_API_VERSION,
        authorize_url: str = DEFAULT_AUTHORIZE_URL,
        token_url: str = DEFAULT_TOKEN_URL,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        allow_private_media_urls: bool = False,
        container_poll_interval: float = 1.0,
        container_timeout: float = DEFAULT_CONTAINER_TIMEOUT_S,
        reconcile_max_pages: int = RECONCILE_MAX_PAGES,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_url = api_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self.authorize_url = authorize_url
        self.token_url = token_url
        self.scopes = tuple(scopes)
        self.allow_private_media_urls = allow_private_media_urls
        self.container_poll_interval = container_poll_interval
        self.container_timeout = container_timeout
        self.reconcile_max_pages = reconcile_max_pages
        self._owns_client = client is None
        self._client = new_client(client, timeout)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- Connecting and renewing ------------------------------------------------------------

    async def start_oauth(
        self, form: Mapping[str, str], redirect_uri: str, state: str
    ) -> OAuthStart:
        """Where the person approves PostWizard's Threads app (scopes comma-separated, as Meta
        writes them)."""
        url = authorization_url(
            self.authorize_url,
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            scope=",".join(self.scopes),
            state=state,
        )
        return OAuthStart(authorize_url=url)

    async def finish_oauth(
        self, pending: Mapping[str, str], code: str, redirect_uri: str
    ) -> ConnectedAccount:
        """Exchange the code for a short-lived token, that for a long-lived one, and read who
        the profile is."""
        form = code_grant(
            code, redirect_uri, client_id=self.client_id, client_secret=self.client_secret
        )
        try:
            short = await self._call("POST", self.token_url, data=form, what="exchanging the code")
            short_token = _string(short, "access_token")
            long = await self._call(
                "GET",
                f"{self.api_url}/access_token",
                params={
                    "grant_type": "th_exchange_token",
                    "client_secret": self.client_secret,
                    "access_token": short_token,
                },
                what="exchanging for a long-lived token",
            )
            credentials = _token_credentials(long, datetime.now(UTC))
            me = await self._call(
                "GET",
                self._url("me"),
                params={"fields": "id,username,name"},
                token=credentials["access_token"],
                what="reading the connected profile",
            )
        except ConnectError:
            raise
        except PlatformError as error:
            if isinstance(error, AuthExpiredError | PermanentError):
                raise ConnectError(
                    f"Threads did not accept the sign-in ({error.message}). Start connecting "
                    "again.",
                    http_status=error.http_status,
                ) from error
            raise ConnectError(error.message, http_status=error.http_status) from error
        user_id = _string(me, "id")
        username = str(me.get("username") or user_id)
        return ConnectedAccount(
            remote_id=user_id,
            handle=f"@{username}",
            display_name=str(me.get("name") or username),
            credentials={**credentials, "user_id": user_id},
            options={"user_id": user_id, "username": username},
        )

    def needs_refresh(self, credentials: Mapping[str, str], now: datetime) -> bool:
        """True when the long-lived token ends within a week, is old enough for Threads to
        refresh it (24 hours) and has not run out yet (then only reconnecting helps)."""
        expires_at = stored_time(credentials.get("expires_at"))
        if expires_at is None or expires_at <= now or expires_at - now > REFRESH_AHEAD:
            return False
        issued_at = stored_time(credentials.get("issued_at"))
        return issued_at is None or now - issued_at >= MIN_TOKEN_AGE_FOR_REFRESH

    async def refresh(self, account: AccountRef) -> Mapping[str, str]:
        """A renewed long-lived token (valid 60 days from now)."""
        token = account.credentials.get("access_token", "")
        if not token:
            raise AuthExpiredError("The Threads account has no stored token; reconnect it.")
        answer = await self._call(
            "GET",
            f"{self.api_url}/refresh_access_token",
            params={"grant_type": "th_refresh_token", "access_token": token},
            what="renewing the access token",
        )
        return _token_credentials(answer, datetime.now(UTC))

    # --- Publishing ---------------------------------------------------------------------------

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        """Check the post, the media URLs and the publishing quota; create the container(s),
        wait until Threads has fetched the media, then publish."""
        user_id, token = _identity(account)
        check_request(Network.THREADS, request)
        media_urls = [self._media_url(item) for item in request.media]
        base = _post_fields(request)
        await self._check_quota(user_id, token, is_reply=request.reply_to is not None)
        if not request.media:
            container = await self._container(user_id, token, {"media_type": "TEXT", **base})
        elif len(request.media) == 1:
            item_fields = _media_fields(request.media[0], media_urls[0])
            container = await self._container(user_id, token, {**item_fields, **base})
            await self._wait_until_finished(container, token)
        else:
            children = []
            for item, url in zip(request.media, media_urls, strict=True):
                fields = {**_media_fields(item, url), "is_carousel_item": "true"}
                children.append(await self._container(user_id, token, fields))
            for child in children:
                await self._wait_until_finished(child, token)
            carousel = {"media_type": "CAROUSEL", "children": ",".join(children), **base}
            container = await self._container(user_id, token, carousel)
            await self._wait_until_finished(container, token)
        answer = await self._call(
            "POST",
            self._url(f"{user_id}/threads_publish"),
            data={"creation_id": container},
            token=token,
            creates_post=True,
            permission="threads_content_publish",
            what="publishing the post",
        )
        media_id = answer.get("id")
        if not media_id:
            raise UnknownOutcomeError(
                "Threads answered the publish without the post's id; it may or may not have "
                "been published."
            )
        return await self._published(str(media_id), token)

    async def _published(self, media_id: str, token: str) -> Published:
        """The published post with its link. The post exists already: a failed read of its link
        must not make the engine publish it again."""
        try:
            post = await self._call(
                "GET",
                self._url(media_id),
                params={"fields": "id,permalink,timestamp"},
                token=token,
                what="reading the published post",
            )
        except PlatformError:
            return Published(remote_id=media_id, url=None, published_at=datetime.now(UTC))
        return _as_published({**post, "id": media_id})

    async def _check_quota(self, user_id: str, token: str, *, is_reply: bool) -> None:
        answer = await self._call(
            "GET",
            self._url(f"{user_id}/threads_publishing_limit"),
            params={"fields": "quota_usage,config,reply_quota_usage,reply_config"},
            token=token,
            what="reading the publishing quota",
        )
        data = answer.get("data")
        limit = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        usage_key, config_key = (
            ("reply_quota_usage", "reply_config") if is_reply else ("quota_usage", "config")
        )
        usage = limit.get(usage_key)
        config = limit.get(config_key)
        total = config.get("quota_total") if isinstance(config, dict) else None
        if isinstance(usage, int) and isinstance(total, int) and usage >= total:
            kind = "replies" if is_reply else "posts"
            raise RateLimitedError(
                f"Threads allows {total} {kind} per 24 hours through its API, and this profile "
                f"has used {usage}; PostWizard looks again in an hour.",
                retry_after=QUOTA_RETRY_AFTER_S,
            )

    async def _container(self, user_id: str, token: str, fields: Mapping[str, str]) -> str:
        answer = await self._call(
            "POST",
            self._url(f"{user_id}/threads"),
            data=fields,
            token=token,
            permission="threads_content_publish",
            what="preparing the post",
        )
        container = answer.get("id")
        if not container:
            raise TransientError("Threads answered without a container id while preparing.")
        return str(container)

    async def _wait_until_finished(self, container: str, token: str) -> None:
        """Poll the container until Threads has fetched and processed its media (bounded: an
        unpublished container is harmless, it expires after 24 hours)."""
        deadline = time.monotonic() + self.container_timeout
        interval = self.container_poll_interval
        while True:
            answer = await self._call(
                "GET",
                self._url(container),
                params={"fields": "id,status,error_message"},
                token=token,
                what="waiting for Threads to process the media",
            )
            status = str(answer.get("status") or "")
            if status in ("FINISHED", "PUBLISHED"):
                return
            if status == "ERROR":
                code = str(answer.get("error_message") or "UNKNOWN")
                reason = _CONTAINER_ERRORS.get(code, f"Threads could not use the media ({code})")
                advice = f" {PUBLIC_URL_ADVICE}" if code == "FAILED_DOWNLOADING_VIDEO" else ""
                raise PermanentError(f"Threads refused the post: {reason}.{advice}")
            if status == "EXPIRED":
                raise TransientError("The prepared Threads post expired; it is prepared again.")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransientError(
                    f"Threads was still processing the media after {self.container_timeout:g} s; "
                    "PostWizard tries again later."
                )
            await asyncio.sleep(min(interval, remaining))
            interval = min(interval * 2, MAX_POLL_INTERVAL_S)

    def _media_url(self, item: MediaItem) -> str:
        if not item.public_url:
            raise PermanentError(
                f"{item.filename} has no public address for Threads to fetch it from. "
                f"{PUBLIC_URL_ADVICE}"
            )
        if not self.allow_private_media_urls and not is_publicly_reachable(item.public_url):
            host = urlsplit(item.public_url).hostname or item.public_url
            raise PermanentError(
                f"{item.filename} would be fetched from {host}, a private address. "
                f"{PUBLIC_URL_ADVICE}"
            )
        return item.public_url

    # --- Reconciling ----------------------------------------------------------------------------

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        """The profile's post carrying `request` among its threads (or replies) since the first
        attempt, None when every one of them was read and none matches."""
        user_id, token = _identity(account)
        edge = "replies" if request.reply_to else "threads"
        params: dict[str, Any] = {"fields": _MEDIA_FIELDS, "limit": RECONCILE_PAGE_SIZE}
        if request.first_attempt_at is not None:
            params["since"] = int((request.first_attempt_at - CLOCK_SKEW).timestamp())
        matches: list[dict[str, Any]] = []
        for _ in range(self.reconcile_max_pages):
            page = await self._call(
                "GET",
                self._url(f"{user_id}/{edge}"),
                params=params,
                token=token,
                what="looking for the post among the profile's posts",
            )
            posts = [post for post in page.get("data") or [] if isinstance(post, dict)]
            matches += [post for post in posts if _same_post(post, request)]
            paging = page.get("paging")
            after = _after_cursor(paging)
            if not posts or after is None:
                # Newest first: the last match is the oldest one, the one a retry did not make.
                return _as_published(matches[-1]) if matches else None
            params["after"] = after
        if matches:
            return _as_published(matches[-1])
        raise UnknownOutcomeError(
            f"Could not tell whether the post was published: the profile has more than "
            f"{self.reconcile_max_pages * RECONCILE_PAGE_SIZE} posts since the first attempt, "
            "and PostWizard reads no further back."
        )

    # --- Measuring ----------------------------------------------------------------------------

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        """Views, likes, replies, reposts, quotes (and shares) of each post still there."""
        _, token = _identity(account)
        found: list[PostMetrics] = []
        for remote_id in remote_ids:
            try:
                answer = await self._call(
                    "GET",
                    self._url(f"{remote_id}/insights"),
                    params={"metric": "views,likes,replies,reposts,quotes,shares"},
                    token=token,
                    permission="threads_manage_insights",
                    what="reading the post's numbers",
                )
            except PermanentError as error:
                if error.http_status in (400, 404):  # deleted since: no numbers to read
                    continue
                raise
            values = _insight_values(answer)
            found.append(
                PostMetrics(
                    remote_id=remote_id,
                    impressions=values.get("views"),
                    likes=values.get("likes"),
                    replies=values.get("replies"),
                    reposts=values.get("reposts"),
                    quotes=values.get("quotes"),
                    extra={"shares": values["shares"]} if "shares" in values else {},
                )
            )
        return found

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        """Followers (`followers_count`); Threads tells apps nothing about following or posts."""
        user_id, token = _identity(account)
        answer = await self._call(
            "GET",
            self._url(f"{user_id}/threads_insights"),
            params={"metric": "followers_count"},
            token=token,
            permission="threads_manage_insights",
            what="reading the profile's followers",
        )
        return AccountStats(followers=_insight_values(answer).get("followers_count"))

    # --- HTTP ----------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.api_url}/{self.api_version}/{path}"

    async def _call(
        self,
        method: str,
        url: str,
        *,
        what: str,
        token: str = "",
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
        creates_post: bool = False,
        permission: str = "threads_basic",
    ) -> dict[str, Any]:
        """One request; its JSON object, or the `PlatformError` its failure means."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await send(
            self._client,
            method,
            url,
            network="Threads",
            what=what,
            creates_post=creates_post,
            params=params,
            data=data,
            headers=headers,
        )
        if response.status_code >= 400:
            raise classify(response, what=what, creates_post=creates_post, permission=permission)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if creates_post:
                raise UnknownOutcomeError(
                    "Threads answered the publish with something unexpected; it may or may not "
                    "have been published."
                )
            raise TransientError(f"Threads answered with unexpected data while {what}.")
        return body


def classify(
    response: httpx.Response, *, what: str, creates_post: bool = False, permission: str = ""
) -> PlatformError:
    """The engine's error for a Graph API error answer `{"error": {"message", "type", "code",
    "error_subcode", "error_user_msg", "fbtrace_id"}}`."""
    status = response.status_code
    error = _graph_error(response)
    raw_code = error.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    message = str(error.get("error_user_msg") or error.get("message") or "").strip()
    reason = message or f"HTTP {status}"
    if status == 429 or code in RATE_LIMIT_CODES:
        seconds = retry_after_seconds(response.headers)
        return RateLimitedError(
            f"Threads is rate-limiting this profile ({reason}); PostWizard tries again in "
            f"{math.ceil(seconds)} s.",
            retry_after=seconds,
            http_status=status,
        )
    if code in TOKEN_CODES or status == 401:
        return AuthExpiredError(
            f"Threads no longer accepts PostWizard's access to this profile ({reason}). "
            "Reconnect the account.",
            http_status=status,
        )
    if code == 10 or (code is not None and 200 <= code <= 299) or status == 403:
        return AuthExpiredError(
            f"Threads refused {what}: the permission {permission} is missing ({reason}). "
            f"Reconnect the account and allow {permission}.",
            http_status=status,
        )
    # Code 1 ("unknown error") also answers a bad app secret with a 400: only a 5xx or code 2
    # ("service temporarily unavailable") is the network's own trouble.
    if status >= 500 or code in TRANSIENT_CODES:
        if creates_post:
            return UnknownOutcomeError(
                f"Threads answered {status} ({reason}) to the post; it may or may not have been "
                "published.",
                http_status=status,
            )
        return TransientError(
            f"Threads answered {status} while {what} ({reason}).", http_status=status
        )
    return PermanentError(f"Threads refused {what}: {reason}", http_status=status)


def retry_after_seconds(headers: Mapping[str, str]) -> float:
    """How long to wait after a rate limit: `Retry-After`, else the largest
    `estimated_time_to_regain_access` (minutes) of `X-Business-Use-Case-Usage`, else a default."""
    value = headers.get("Retry-After")
    if value:
        try:
            return max(1.0, float(value))
        except ValueError:
            pass
    usage = headers.get("X-Business-Use-Case-Usage")
    if usage:
        try:
            parsed = json.loads(usage)
        except ValueError:
            parsed = None
        minutes = [
            entry.get("estimated_time_to_regain_access")
            for entries in (parsed.values() if isinstance(parsed, dict) else [])
            for entry in (entries if isinstance(entries, list) else [])
            if isinstance(entry, dict)
        ]
        waits = [m for m in minutes if isinstance(m, int | float) and m > 0]
        if waits:
            return 60.0 * max(waits)
    return DEFAULT_RETRY_AFTER_S


def _graph_error(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"message": response.text.strip()[:200]} if response.text.strip() else {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _identity(account: AccountRef) -> tuple[str, str]:
    user_id = str(account.options.get("user_id") or account.credentials.get("user_id") or "")
    token = account.credentials.get("access_token", "")
    if not user_id or not token:
        raise AuthExpiredError(f"The Threads account {account.handle} has no stored access.")
    return user_id, token


def _token_credentials(answer: Mapping[str, Any], now: datetime) -> dict[str, str]:
    token = _string(answer, "access_token")
    expires_in = answer.get("expires_in")
    credentials = {"access_token": token, "issued_at": now.isoformat()}
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        credentials["expires_at"] = (now + timedelta(seconds=float(expires_in))).isoformat()
    return credentials


def _string(answer: Mapping[str, Any], key: str) -> str:
    value = answer.get(key)
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
        return str(value)
    raise ConnectError(f"Threads answered without {key}.")


def _post_fields(request: PublishRequest) -> dict[str, str]:
    """The fields every container of the post's top level carries: text, reply target, who may
    reply."""
    fields: dict[str, str] = {}
    if request.text:
        fields["text"] = request.text
    if request.reply_to:
        fields["reply_to_id"] = request.reply_to
    reply_control = request.options.get("reply_control")
    if reply_control:
        if reply_control not in REPLY_CONTROLS:
            raise PermanentError(
                f"Threads has no reply_control {reply_control!r}; use one of "
                f"{', '.join(sorted(REPLY_CONTROLS))}."
            )
        fields["reply_control"] = str(reply_control)
    return fields


def _media_fields(item: MediaItem, url: str) -> dict[str, str]:
    fields = (
        {"media_type": "VIDEO", "video_url": url}
        if item.kind == "video"
        else {"media_type": "IMAGE", "image_url": url}
    )
    if item.alt_text:
        fields["alt_text"] = item.alt_text
    return fields


def _same_post(post: Mapping[str, Any], request: PublishRequest) -> bool:
    """Whether a listed post could be the delivery's: the same text and kind of media."""
    expected_type = (
        "TEXT_POST"
        if not request.media
        else "CAROUSEL_ALBUM"
        if len(request.media) > 1
        else ("VIDEO" if request.media[0].kind == "video" else "IMAGE")
    )
    return post.get("media_type") == expected_type and _plain(
        str(post.get("text") or "")
    ) == _plain(request.text)


def _plain(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _after_cursor(paging: object) -> str | None:
    """The cursor of the next page, None when this page was the last (no `next` link)."""
    if not isinstance(paging, dict) or not paging.get("next"):
        return None
    cursors = paging.get("cursors")
    after = cursors.get("after") if isinstance(cursors, dict) else None
    return str(after) if after else None


def _as_published(post: Mapping[str, Any]) -> Published:
    timestamp = post.get("timestamp")
    published_at = None
    if isinstance(timestamp, str):
        try:
            # Threads writes "+0000" offsets, which fromisoformat reads since Python 3.11.
            published_at = datetime.fromisoformat(timestamp)
        except ValueError:
            published_at = None
    permalink = post.get("permalink")
    return Published(
        remote_id=str(post["id"]),
        url=str(permalink) if permalink else None,
        published_at=published_at,
    )


def _insight_values(answer: Mapping[str, Any]) -> dict[str, int]:
    """`{metric: value}` of an insights answer: `values[0].value` (media insights) or
    `total_value.value` (user insights)."""
    found: dict[str, int] = {}
    for metric in answer.get("data") or []:
        if not isinstance(metric, dict) or not isinstance(metric.get("name"), str):
            continue
        total = metric.get("total_value")
        values = metric.get("values")
        value = (
            total.get("value")
            if isinstance(total, dict)
            else values[0].get("value")
            if isinstance(values, list) and values and isinstance(values[0], dict)
            else None
        )
        if isinstance(value, int) and not isinstance(value, bool):
            found[metric["name"]] = value
    return found

"""The X adapter: connect (OAuth 2.0 with PKCE), refresh, publish with media and threads,
reconcile, measure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from postwizard.platforms.http_calls import new_client
from postwizard.platforms.networks import Network
from postwizard.platforms.outgoing import violations
from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    AuthExpiredError,
    ConnectedAccount,
    ConnectError,
    ConnectField,
    OAuthStart,
    PermanentError,
    PlatformError,
    PostMetrics,
    Published,
    PublishRequest,
    TokenExpiredError,
    TransientError,
    UndecidableOutcomeError,
    UnknownOutcomeError,
)
from postwizard.platforms.x import oauth
from postwizard.platforms.x.api import XApi, envelope
from postwizard.platforms.x.errors import CLIENT_NOT_ENROLLED, DuplicateContentError
from postwizard.platforms.x.media import (
    DEFAULT_CHUNK_BYTES,
    check_alt_text,
    upload_media,
)
from postwizard.platforms.x.reconcile import (
    READ_SCOPE,
    TimelineSearch,
    cannot_tell,
    created_at,
    posts_url,
    search_start,
)

DEFAULT_API_URL = "https://api.x.com"
DEFAULT_AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
DEFAULT_WEB_URL = "https://x.com"
DEFAULT_TIMEOUT_S = 15.0  # per connect / read / write of one request, not per upload
FREE_TIER_DAILY_POSTS = 17
"""`POST /2/tweets` on X's Free access: 17 requests per 24 hours per user (and per app)."""
DEFAULT_MEDIA_PROCESSING_TIMEOUT_S = 20.0
"""How long publishing waits for X to process a video: inside the engine's default 30-second
budget for one call, so the wait ends as a clean `TransientError`."""
RECONCILE_MAX_PAGES = 10  # 1,000 posts since the first attempt
METRICS_BATCH = 100  # GET /2/tweets?ids= takes at most 100 ids
PRIVATE_METRICS_MAX_AGE = timedelta(days=29)
"""`non_public_metrics` exist only for posts of the last 30 days; a day of margin."""
# Post ids are snowflakes: milliseconds since this epoch, shifted left by 22 bits.
_SNOWFLAKE_EPOCH_MS = 1_288_834_974_657
_PUBLIC_FIELDS = "public_metrics"
_PRIVATE_FIELDS = "public_metrics,non_public_metrics"
_EXTRA_COUNTS = {
    "bookmark_count": "bookmarks",
    "url_link_clicks": "url_link_clicks",
    "user_profile_clicks": "user_profile_clicks",
}


class XPlatform:
    """X (Twitter) through the X API v2, as PostWizard's developer app (`client_id`,
    `client_secret`: the app's OAuth 2.0 client credentials). Every host is an argument so tests
    point the adapter at a fake server; `token_url` defaults to `{api_url}/2/oauth2/token`."""

    network = Network.X
    provides_metrics = True
    connect_fields: Sequence[ConnectField] = ()

    def __init__(
        self,
        *,
        client_id: str = "",
        client_secret: str = "",
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        api_url: str = DEFAULT_API_URL,
        authorize_url: str = DEFAULT_AUTHORIZE_URL,
        token_url: str | None = None,
        web_url: str = DEFAULT_WEB_URL,
        scopes: str = oauth.DEFAULT_SCOPES,
        daily_post_cap: int = FREE_TIER_DAILY_POSTS,
        media_chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        media_processing_timeout: float = DEFAULT_MEDIA_PROCESSING_TIMEOUT_S,
        media_poll_max_interval: float = 5.0,
        reconcile_max_pages: int = RECONCILE_MAX_PAGES,
    ) -> None:
        self.client_id = client_id
        self.api_url = api_url.rstrip("/")
        self.authorize_url = authorize_url
        self.web_url = web_url.rstrip("/")
        self.scopes = scopes
        self.daily_post_cap = daily_post_cap
        self.media_chunk_bytes = media_chunk_bytes
        self.media_processing_timeout = media_processing_timeout
        self.media_poll_max_interval = media_poll_max_interval
        self.reconcile_max_pages = reconcile_max_pages
        self._client = new_client(client, timeout)
        self._tokens = oauth.TokenEndpoint(
            self._client,
            token_url or f"{self.api_url}/2/oauth2/token",
            client_id=client_id,
            client_secret=client_secret,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- Connecting and renewing -------------------------------------------------------------

    async def start_oauth(
        self, form: Mapping[str, str], redirect_uri: str, state: str
    ) -> OAuthStart:
        """Where to send the person to approve PostWizard on X; the PKCE verifier stays in
        `pending` (sealed server-side by the engine) for the callback."""
        self._require_app()
        verifier = oauth.new_code_verifier()
        url = oauth.authorize_url(
            self.authorize_url,
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            scopes=self.scopes,
            state=state,
            verifier=verifier,
        )
        return OAuthStart(
            authorize_url=url, pending={"code_verifier": verifier, "scopes": self.scopes}
        )

    async def finish_oauth(
        self, pending: Mapping[str, str], code: str, redirect_uri: str
    ) -> ConnectedAccount:
        """Exchange the code (with the PKCE verifier); the account the token acts as."""
        self._require_app()
        verifier = pending.get("code_verifier")
        if not verifier:
            raise ConnectError("The connection attempt expired; start connecting again.")
        if not code:
            raise ConnectError("X sent no authorization code; start connecting again.")
        credentials = await self._tokens.exchange_code(
            code=code, redirect_uri=redirect_uri, verifier=verifier
        )
        missing = oauth.missing_scopes(credentials["scope"], pending.get("scopes", self.scopes))
        if missing:
            raise ConnectError(
                f"X granted PostWizard less than it needs: {', '.join(missing)} "
                "missing. Connect again and approve every permission."
            )
        try:
            user = await self._me(XApi(self._client, self.api_url, credentials), "")
        except PlatformError as error:
            raise ConnectError(error.message, http_status=error.http_status) from error
        user_id, username = str(user.get("id") or ""), str(user.get("username") or "")
        if not user_id or not username:
            raise ConnectError("X answered /2/users/me without the account's id and username.")
        return ConnectedAccount(
            remote_id=user_id,
            handle=f"@{username}",
            display_name=str(user.get("name") or username),
            credentials={**credentials, "user_id": user_id},
            options={"user_id": user_id, "username": username},
        )

    def needs_refresh(self, credentials: Mapping[str, str], now: datetime) -> bool:
        """True when the access token is missing or expires within five minutes."""
        return oauth.needs_refresh(credentials, now)

    async def refresh(self, account: AccountRef) -> Mapping[str, str]:
        """New credentials from the stored refresh token (X answers a new refresh token too)."""
        refresh_token = account.credentials.get("refresh_token")
        if not refresh_token:
            raise AuthExpiredError(
                f"The X account {account.handle} has no refresh token (it was connected without "
                "offline access); reconnect it."
            )
        if not self.client_id:
            raise TransientError(
                "X is not set up on this PostWizard (POSTWIZARD_X_CLIENT_ID is empty), so its "
                "access tokens cannot be renewed."
            )
        return await self._tokens.refresh(refresh_token)

    def _require_app(self) -> None:
        if not self.client_id:
            raise ConnectError(
                "X is not set up on this PostWizard yet: create a developer app on "
                "developer.x.com and set POSTWIZARD_X_CLIENT_ID and POSTWIZARD_X_CLIENT_SECRET "
                "(see docs/networks.md)."
            )

    # --- Publishing ----------------------------------------------------------------------------

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        """Check the post against X's limits, upload the media (waiting for processing), then
        create the post. X has no idempotency key; a refusal as duplicate content is resolved by
        looking for our own post (see `_after_duplicate`)."""
        _check_post(request)
        api = self._api(account)
        media_ids = [
            await upload_media(
                api,
                item,
                number=number,
                chunk_bytes=self.media_chunk_bytes,
                processing_timeout=self.media_processing_timeout,
                max_poll_interval=self.media_poll_max_interval,
            )
            for number, item in enumerate(request.media, start=1)
        ]
        body: dict[str, Any] = {"text": request.text}
        if media_ids:
            body["media"] = {"media_ids": media_ids}
        if request.reply_to:
            body["reply"] = {"in_reply_to_tweet_id": request.reply_to}
        try:
            response = await api.call(
                "POST",
                "/2/tweets",
                json=body,
                creates_post=True,
                what="publishing the post",
                scope="tweet.write",
            )
        except DuplicateContentError as duplicate:
            return await self._after_duplicate(api, account, request, duplicate)
        try:
            data: Any = envelope(response, what="publishing the post").get("data")
            return self._published(account, str(data["id"]))
        except (TransientError, KeyError, TypeError) as error:
            raise UnknownOutcomeError(
                "X answered the post with something that is not a post; it may or may not have "
                "been published."
            ) from error

    async def _after_duplicate(
        self,
        api: XApi,
        account: AccountRef,
        request: PublishRequest,
        duplicate: DuplicateContentError,
    ) -> Published:
        """X refused the text as a duplicate. If the account has the post since this delivery's
        first attempt, an earlier attempt went through and its answer was lost: that is the
        post. If the same text was posted before, X will never take it: say so. If X shows no
        such post at all (yet), the outcome is unknown and the engine reconciles later."""
        since = search_start(request)
        earlier: dict[str, Any] | None = None
        try:
            user_id = await self._user_id(api, account)
            found, _ = await TimelineSearch(
                api, user_id=user_id, max_pages=self.reconcile_max_pages
            ).find(request, since=since)
            if found is None and since is not None:
                # The newest page is enough to name the earlier post in the message.
                earlier, _ = await TimelineSearch(api, user_id=user_id, max_pages=1).find(
                    request, since=None
                )
        except PlatformError as error:
            raise UnknownOutcomeError(
                f"{duplicate.message}; PostWizard could not yet look for the post among the "
                f"account's ({error.message})."
            ) from error
        if earlier is not None:
            when = created_at(earlier)
            raise PermanentError(
                "X does not publish the same text twice, and this account already posted it"
                f"{f' on {when:%Y-%m-%d %H:%M} UTC' if when else ''} "
                f"({self._url(account, str(earlier['id']))}). Change the text to post it again.",
                http_status=403,
            )
        if found is None:
            raise UnknownOutcomeError(
                f"{duplicate.message}; X does not show such a post yet, PostWizard looks again.",
                http_status=403,
            )
        return self._published(account, str(found["id"]))

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        """The account's post carrying `request` since its first attempt (see `reconcile.py`),
        None when certainly absent, `UnknownOutcomeError` when it cannot tell."""
        api = self._api(account)
        try:
            search = TimelineSearch(
                api, user_id=await self._user_id(api, account), max_pages=self.reconcile_max_pages
            )
            found, complete = await search.find(request, since=search_start(request))
        except AuthExpiredError as error:
            if isinstance(error, TokenExpiredError) or CLIENT_NOT_ENROLLED not in error.message:
                raise
            # Reconnecting cannot give the app an access tier that reads posts back.
            raise UndecidableOutcomeError(
                f"X's access tier of PostWizard's developer app does not allow reading the "
                f"account's posts back ({error.message})"
            ) from error
        if found is not None:
            return self._published(account, str(found["id"]))
        if not complete:
            raise cannot_tell(self.reconcile_max_pages)
        return None

    def _published(self, account: AccountRef, post_id: str) -> Published:
        return Published(
            remote_id=post_id, url=self._url(account, post_id), published_at=post_time(post_id)
        )

    def _url(self, account: AccountRef, post_id: str) -> str:
        username = str(account.options.get("username") or account.handle.lstrip("@"))
        return posts_url(username, post_id, self.web_url)

    # --- Measuring -----------------------------------------------------------------------------

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        """Impressions, likes, replies, reposts, quotes and bookmarks, 100 posts per request.
        Posts of the last 30 days are asked for their `non_public_metrics` too (link and profile
        clicks), older ones only for `public_metrics` (X keeps no private numbers beyond 30
        days). A deleted post is missing from the answer."""
        api = self._api(account)
        now = datetime.now(UTC)
        recent = [i for i in remote_ids if (now - (post_time(i) or now)) < PRIVATE_METRICS_MAX_AGE]
        older = [i for i in remote_ids if i not in set(recent)]
        metrics: list[PostMetrics] = []
        for ids, fields in ((recent, _PRIVATE_FIELDS), (older, _PUBLIC_FIELDS)):
            for start in range(0, len(ids), METRICS_BATCH):
                metrics += await self._metrics(api, ids[start : start + METRICS_BATCH], fields)
        return metrics

    async def _metrics(self, api: XApi, ids: Sequence[str], fields: str) -> list[PostMetrics]:
        if not ids:
            return []
        what = "reading the posts' numbers"
        try:
            response = await api.call(
                "GET",
                "/2/tweets",
                params={"ids": ",".join(ids), "tweet.fields": fields},
                what=what,
                scope=READ_SCOPE,
            )
        except (PermanentError, AuthExpiredError) as error:
            if fields == _PUBLIC_FIELDS or isinstance(error, TokenExpiredError):
                raise
            # Private numbers not allowed for this app or these posts: the public ones are.
            return await self._metrics(api, ids, _PUBLIC_FIELDS)
        body = envelope(response, what=what)
        found = [
            _post_metrics(post)
            for post in body.get("data") or ()
            if isinstance(post, dict) and post.get("id")
        ]
        refused = [
            str(error.get("resource_id") or error.get("value"))
            for error in body.get("errors") or ()
            if isinstance(error, dict) and "not-authorized-for-field" in str(error.get("type"))
        ]
        if refused and fields != _PUBLIC_FIELDS:
            found += await self._metrics(api, refused, _PUBLIC_FIELDS)
        return found

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        """Followers, following and posts (`GET /2/users/me`, `public_metrics`)."""
        user = await self._me(self._api(account), "public_metrics")
        counts = user.get("public_metrics")
        counts = counts if isinstance(counts, dict) else {}
        return AccountStats(
            followers=_count(counts.get("followers_count")),
            following=_count(counts.get("following_count")),
            posts=_count(counts.get("tweet_count")),
        )

    # --- Helpers -------------------------------------------------------------------------------

    async def _me(self, api: XApi, user_fields: str) -> dict[str, Any]:
        params = {"user.fields": user_fields} if user_fields else None
        data = await api.data(
            "GET", "/2/users/me", params=params, what="reading the account", scope="users.read"
        )
        if not isinstance(data, dict):
            raise TransientError("X answered /2/users/me without the account.")
        return data

    async def _user_id(self, api: XApi, account: AccountRef) -> str:
        stored = account.options.get("user_id") or account.credentials.get("user_id")
        if stored:
            return str(stored)
        return str((await self._me(api, "")).get("id") or "")

    def _api(self, account: AccountRef) -> XApi:
        return XApi(self._client, self.api_url, account.credentials)


def _check_post(request: PublishRequest) -> None:
    """X's limits (weighted 280 characters, 4 images or 1 video/GIF, sizes): refused before
    anything is uploaded, with every reason at once."""
    messages = [violation.message for violation in violations(Network.X, request)]
    # The limits table checks GIFs as images (it cannot tell an animated one); X takes an
    # animated GIF only alone.
    if len(request.media) > 1 and any(item.kind == "gif" for item in request.media):
        messages.append("X allows an animated GIF only as the single attachment of a post.")
    if messages:
        raise PermanentError(" ".join(messages))
    check_alt_text(tuple(request.media))


def post_time(post_id: str) -> datetime | None:
    """When a post was created, read from its snowflake id (None for an id that is not one)."""
    try:
        milliseconds = (int(post_id) >> 22) + _SNOWFLAKE_EPOCH_MS
    except ValueError:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def _post_metrics(post: Mapping[str, Any]) -> PostMetrics:
    public = post.get("public_metrics")
    public = public if isinstance(public, dict) else {}
    private = post.get("non_public_metrics")
    private = private if isinstance(private, dict) else {}
    extra = {
        name: value
        for key, name in _EXTRA_COUNTS.items()
        if (value := _count(public.get(key, private.get(key)))) is not None
    }
    impressions = _count(private.get("impression_count"))
    return PostMetrics(
        remote_id=str(post["id"]),
        impressions=impressions
        if impressions is not None
        else _count(public.get("impression_count")),
        likes=_count(public.get("like_count")),
        reposts=_count(public.get("retweet_count")),
        replies=_count(public.get("reply_count")),
        quotes=_count(public.get("quote_count")),
        extra=extra,
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

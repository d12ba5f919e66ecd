"""Adapter for Instagram professional accounts (Business or Creator), through the Instagram
Graph API with Facebook Login.

Connect: Facebook Login (`platforms.meta.login`); each granted Facebook Page with a linked
Instagram professional account (`/{page-id}?fields=instagram_business_account`) becomes an
account. Credentials (encrypted): `{"access_token": <the Page's access token>}`, which does not
expire (see `meta/login.py`). Options: `ig_user_id`, `page_id`, `username`.

Publish: Instagram downloads the media itself from `MediaItem.public_url` (checked first, see
`meta/media_urls.py`), so publishing is
1. `GET /{ig-user-id}/content_publishing_limit`: with the 24-hour quota used up, a
   `RateLimitedError` until the oldest post of the window leaves it;
2. a container, `POST /{ig-user-id}/media`: `image_url` (one image), `media_type=REELS` with
   `video_url` (a video), or up to 10 children (`is_carousel_item=true`) and then
   `media_type=CAROUSEL` with `children`;
3. waiting until the container's `status_code` is `FINISHED` (`ERROR`/`EXPIRED`: refused with
   Instagram's reason), for a bounded time per call;
4. `POST /{ig-user-id}/media_publish` with `creation_id`, the one call that creates the post;
5. optionally the first comment (`options.first_comment`, `POST /{media-id}/comments`), whose
   failure never fails the delivery: the post is out.

A video can take minutes to process, longer than one call may last. The adapter remembers, in
this process, the container it made for a delivery, so a retry after "still processing" waits
for the same container instead of making a new one (an unpublished container is harmless: it
expires after 24 hours, so a crash that forgets it costs nothing but a new container).

Reconcile: the Graph API has no idempotency key and PostWizard cannot store the container id
between processes, but only `media_publish` creates a post, and a published post appears in
`GET /{ig-user-id}/media` with its caption, type and time. So reconcile reads the account's
media since the first attempt and matches caption and type (see `reconcile`). A retry that
reuses a remembered container is additionally safe: Instagram refuses to publish a container
twice.

Metrics: `/{media-id}/insights` with `views`, `reach`, `likes`, `comments`, `saved`, `shares`
(the metric names since Meta replaced impressions and plays with views in 2025); account stats:
`followers_count`, `follows_count`, `media_count`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import structlog

from postwizard.platforms.meta.base import (
    DEFAULT_TIMEOUT_S,
    RECONCILE_MAX_PAGES,
    MetaPlatformBase,
    comparable,
    count,
    insight_values,
    parse_time,
)
from postwizard.platforms.meta.errors import PUBLISHING_LIMIT_RETRY_AFTER_S, GraphRefusedError
from postwizard.platforms.meta.graph import (
    DEFAULT_FACEBOOK_URL,
    DEFAULT_GRAPH_API_VERSION,
    DEFAULT_GRAPH_URL,
)
from postwizard.platforms.meta.media_urls import public_media_urls
from postwizard.platforms.networks import Network
from postwizard.platforms.outgoing import check_request
from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    ConnectedAccount,
    ConnectError,
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

log = structlog.get_logger(__name__)

INSTAGRAM_SCOPES = (
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "instagram_manage_comments",
    "pages_show_list",
    "pages_read_engagement",
)
"""The account and its media (reconcile); publishing; insights; the first comment; the Pages
the Instagram accounts are linked to (`content_publishing_limit` also asks for
`pages_read_engagement`)."""
MEDIA_INSIGHTS = ("views", "reach", "likes", "comments", "saved", "shares")
DEFAULT_CONTAINER_POLL_INTERVAL_S = 2.0
DEFAULT_CONTAINER_WAIT_S = 20.0
"""How long one publish call waits for Instagram to process the media: inside the engine's
30-second call budget; a longer wait continues on the next attempt with the same container."""
CONTAINER_LIFETIME = timedelta(hours=24)
QUOTA_WINDOW = timedelta(hours=24)
MIN_QUOTA_WAIT_S = 60.0
ALREADY_PUBLISHED_SUBCODE = 2207008  # media_publish of a container published before
_MEDIA_TYPE_OF_POST = {"image": "IMAGE", "gif": "IMAGE", "video": "VIDEO"}


@dataclass(frozen=True)
class _Container:
    id: str
    created_at: float  # time.monotonic()


class InstagramPlatform(MetaPlatformBase):
    network = Network.INSTAGRAM
    network_name = "Instagram"
    scopes = INSTAGRAM_SCOPES

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        graph_api_version: str = DEFAULT_GRAPH_API_VERSION,
        graph_url: str = DEFAULT_GRAPH_URL,
        facebook_url: str = DEFAULT_FACEBOOK_URL,
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        reconcile_max_pages: int = RECONCILE_MAX_PAGES,
        allow_private_media_urls: bool = False,
        container_poll_interval: float = DEFAULT_CONTAINER_POLL_INTERVAL_S,
        container_wait: float = DEFAULT_CONTAINER_WAIT_S,
    ) -> None:
        """`allow_private_media_urls` accepts media URLs on loopback or private addresses
        (tests; a Meta-compatible server on the same network)."""
        super().__init__(
            app_id=app_id,
            app_secret=app_secret,
            graph_api_version=graph_api_version,
            graph_url=graph_url,
            facebook_url=facebook_url,
            client=client,
            timeout=timeout,
            reconcile_max_pages=reconcile_max_pages,
        )
        self.allow_private_media_urls = allow_private_media_urls
        self.container_poll_interval = container_poll_interval
        self.container_wait = container_wait
        self._containers: dict[tuple[str, ...], _Container] = {}

    # --- Connecting --------------------------------------------------------------------------

    async def finish_oauth(
        self, pending: Mapping[str, str], code: str, redirect_uri: str
    ) -> list[ConnectedAccount]:
        """The Instagram professional account linked to each granted Page."""
        signed_in = await self.login.sign_in(code, redirect_uri)
        accounts = []
        for page in signed_in.pages:
            try:
                body = await self.api.call(
                    "GET",
                    f"/{page.id}",
                    token=page.access_token,
                    params={"fields": "instagram_business_account{id,username,name}"},
                    what=f"reading the Instagram account of the Page {page.name}",
                    permission="instagram_basic",
                )
            except PlatformError as error:
                raise ConnectError(error.message, http_status=error.http_status) from error
            linked = body.get("instagram_business_account")
            if not isinstance(linked, dict) or not linked.get("id"):
                continue
            ig_id = str(linked["id"])
            username = str(linked.get("username") or ig_id)
            accounts.append(
                ConnectedAccount(
                    remote_id=ig_id,
                    handle=f"@{username}",
                    display_name=str(linked.get("name") or username),
                    credentials={"access_token": page.access_token},
                    options={"ig_user_id": ig_id, "page_id": page.id, "username": username},
                )
            )
        if not accounts:
            raise ConnectError(
                "None of the Facebook Pages you granted has an Instagram professional account "
                "linked. In Instagram, switch the account to Business or Creator and link it to "
                "a Facebook Page (Accounts Center), then connect again choosing that Page."
            )
        return accounts

    # --- Publishing --------------------------------------------------------------------------

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        ig_id, token = self._access(account, "ig_user_id")
        _check(request)
        urls = public_media_urls(
            request.media, network="Instagram", allow_private=self.allow_private_media_urls
        )
        key = _container_key(ig_id, request)
        container = self._remembered(key)
        if container is None:
            await self._check_publishing_limit(ig_id, token)
            container_id = await self._create_container(ig_id, token, request, urls)
            container = self._containers[key] = _Container(container_id, time.monotonic())
        await self._wait_until_finished(token, container.id, "the post")
        try:
            body = await self.api.call(
                "POST",
                f"/{ig_id}/media_publish",
                token=token,
                data={"creation_id": container.id},
                creates_post=True,
                what="publishing the post",
                permission="instagram_content_publish",
            )
        except GraphRefusedError as error:
            if error.subcode == ALREADY_PUBLISHED_SUBCODE:
                # This container went out in an attempt whose answer was lost: find the post.
                raise UnknownOutcomeError(
                    "Instagram says this post's container was already published; PostWizard "
                    "looks the post up instead of publishing again.",
                    http_status=error.http_status,
                ) from error
            self._containers.pop(key, None)  # refused: a retry starts from a new container
            raise
        self._containers.pop(key, None)
        media_id = str(body.get("id") or "")
        if not media_id:
            raise UnknownOutcomeError(
                "Instagram answered the publish without the post's id; it may or may not have "
                "been published."
            )
        published = await self._published(token, media_id)
        first_comment = str(request.options.get("first_comment") or "").strip()
        if first_comment:
            await self._comment(token, media_id, first_comment)
        return published

    def _remembered(self, key: tuple[str, ...]) -> _Container | None:
        container = self._containers.get(key)
        if container is None:
            return None
        if time.monotonic() - container.created_at > CONTAINER_LIFETIME.total_seconds() - 3600:
            del self._containers[key]  # about to expire: make a fresh one
            return None
        return container

    async def _check_publishing_limit(self, ig_id: str, token: str) -> None:
        body = await self.api.call(
            "GET",
            f"/{ig_id}/content_publishing_limit",
            token=token,
            params={"fields": "quota_usage,config"},
            what="reading the account's publishing limit",
            permission="instagram_content_publish",
        )
        data = body.get("data")
        usage = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
        raw_config = usage.get("config")
        config = raw_config if isinstance(raw_config, dict) else {}
        used, total = count(usage.get("quota_usage")), count(config.get("quota_total"))
        if used is None or total is None or used < total:
            return
        wait = await self._quota_wait(ig_id, token)
        raise RateLimitedError(
            f"This Instagram account has published {used} posts through the API in the last 24 "
            f"hours, Instagram's limit is {total}; PostWizard publishes this one when a slot "
            "frees.",
            retry_after=wait,
            http_status=None,
        )

    async def _quota_wait(self, ig_id: str, token: str) -> float:
        """Seconds until the oldest post of the 24-hour window leaves it (the soonest a slot can
        free); Instagram's window length when the account's media cannot be read."""
        now = datetime.now(UTC)
        try:
            media = await self.api.pages_of(
                f"/{ig_id}/media",
                token=token,
                params={
                    "fields": "id,timestamp",
                    "since": int((now - QUOTA_WINDOW).timestamp()),
                    "limit": 100,
                },
                what="reading the account's recent posts",
                max_pages=3,
            )
        except PlatformError:
            return PUBLISHING_LIMIT_RETRY_AFTER_S
        times = [t for t in (parse_time(m.get("timestamp")) for m in media) if t is not None]
        in_window = [t for t in times if now - t < QUOTA_WINDOW]
        if not in_window:
            return PUBLISHING_LIMIT_RETRY_AFTER_S
        return max(MIN_QUOTA_WAIT_S, (min(in_window) + QUOTA_WINDOW - now).total_seconds())

    async def _create_container(
        self, ig_id: str, token: str, request: PublishRequest, urls: list[str]
    ) -> str:
        media = list(request.media)
        if len(media) == 1:
            fields = _media_fields(media[0], urls[0], carousel_item=False)
            return await self._container(ig_id, token, {**fields, "caption": request.text})
        children = []
        for number, (item, url) in enumerate(zip(media, urls, strict=True), start=1):
            child = await self._container(
                ig_id, token, _media_fields(item, url, carousel_item=True)
            )
            await self._wait_until_finished(token, child, f"carousel item {number}")
            children.append(child)
        return await self._container(
            ig_id,
            token,
            {"media_type": "CAROUSEL", "children": ",".join(children), "caption": request.text},
        )

    async def _container(self, ig_id: str, token: str, data: Mapping[str, str]) -> str:
        # Not a post: a container whose answer is lost is never published and expires.
        body = await self.api.call(
            "POST",
            f"/{ig_id}/media",
            token=token,
            data=data,
            what="preparing the post's media",
            permission="instagram_content_publish",
        )
        container_id = str(body.get("id") or "")
        if not container_id:
            raise TransientError("Instagram answered without a container id.")
        return container_id

    async def _wait_until_finished(self, token: str, container_id: str, what: str) -> None:
        """Until the container is `FINISHED`; `PermanentError` on `ERROR`/`EXPIRED`,
        `TransientError` when it takes longer than `container_wait`."""
        deadline = time.monotonic() + self.container_wait
        while True:
            body = await self.api.call(
                "GET",
                f"/{container_id}",
                token=token,
                params={"fields": "status_code,status"},
                what="checking Instagram's processing of the media",
            )
            status_code = str(body.get("status_code") or "")
            if status_code in ("FINISHED", "PUBLISHED"):
                return
            if status_code in ("ERROR", "EXPIRED"):
                reason = str(body.get("status") or status_code).strip()
                raise PermanentError(
                    f"Instagram could not process {what}: {reason}. Check the media against "
                    "Instagram's requirements (JPEG images, MP4/MOV video, aspect ratios)."
                    if status_code == "ERROR"
                    else f"Instagram let {what} expire before it was published ({reason})."
                )
            if time.monotonic() >= deadline:
                raise TransientError(
                    f"Instagram is still processing {what}; PostWizard checks again shortly."
                )
            await asyncio.sleep(self.container_poll_interval)

    async def _published(self, token: str, media_id: str) -> Published:
        """The post with its link; without it when the read fails (the post is out anyway)."""
        try:
            body = await self.api.call(
                "GET",
                f"/{media_id}",
                token=token,
                params={"fields": "permalink,timestamp"},
                what="reading the published post's link",
            )
        except PlatformError:
            return Published(remote_id=media_id, url=None)
        return _published(body | {"id": media_id})

    async def _comment(self, token: str, media_id: str, message: str) -> None:
        try:
            await self.api.call(
                "POST",
                f"/{media_id}/comments",
                token=token,
                data={"message": message},
                what="adding the first comment",
                permission="instagram_manage_comments",
            )
        except PlatformError as error:
            # The post is published: a failed extra never turns into a retry (a duplicate).
            log.warning("instagram first comment failed", media_id=media_id, error=error.message)

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        """The account's post with the request's caption and type since the first attempt; None
        when certainly absent; `UnknownOutcomeError` when too many posts to read back."""
        ig_id, token = self._access(account, "ig_user_id")
        wanted = comparable(request.text)
        if not wanted:
            raise UndecidableOutcomeError(
                "This Instagram post has no caption to recognise it by among the account's posts."
            )
        media_type = _post_media_type(request.media)
        media = await self._find_posted(
            f"/{ig_id}/media",
            request,
            token=token,
            fields="id,caption,media_type,timestamp,permalink",
            what="looking for the post among the account's posts",
            is_it=lambda m: (
                comparable(str(m.get("caption") or "")) == wanted
                and m.get("media_type") == media_type
            ),
            posted_by="the account",
        )
        return _published(media) if media is not None else None

    # --- Numbers -----------------------------------------------------------------------------

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        """Views, reach, likes, comments, saves and shares of each post that still exists."""
        _, token = self._access(account, "ig_user_id")
        found = []
        for remote_id in remote_ids:
            try:
                body = await self.api.call(
                    "GET",
                    f"/{remote_id}/insights",
                    token=token,
                    params={"metric": ",".join(MEDIA_INSIGHTS)},
                    what="reading a post's insights",
                    permission="instagram_manage_insights",
                )
            except GraphRefusedError as error:
                if error.is_not_found:
                    continue
                raise
            values = insight_values(body)
            found.append(
                PostMetrics(
                    remote_id=remote_id,
                    impressions=count(values.get("views")),
                    likes=count(values.get("likes")),
                    replies=count(values.get("comments")),
                    reposts=count(values.get("shares")),
                    extra={
                        "reach": count(values.get("reach")),
                        "saved": count(values.get("saved")),
                    },
                )
            )
        return found

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        ig_id, token = self._access(account, "ig_user_id")
        body = await self.api.call(
            "GET",
            f"/{ig_id}",
            token=token,
            params={"fields": "followers_count,follows_count,media_count"},
            what="reading the account's followers",
        )
        return AccountStats(
            followers=count(body.get("followers_count")),
            following=count(body.get("follows_count")),
            posts=count(body.get("media_count")),
        )


def _check(request: PublishRequest) -> None:
    if request.reply_to:
        raise PermanentError("Instagram posts have no reply chains; publish this one on its own.")
    check_request(Network.INSTAGRAM, request)


def _container_key(ig_id: str, request: PublishRequest) -> tuple[str, ...]:
    """What a remembered container must match: the same delivery with the same content."""
    return (ig_id, request.marker, request.text, *(str(item.path) for item in request.media))


def _media_fields(item: MediaItem, url: str, *, carousel_item: bool) -> dict[str, str]:
    if item.kind == "video":
        fields = {"media_type": "VIDEO" if carousel_item else "REELS", "video_url": url}
    else:
        fields = {"image_url": url}
        if item.alt_text:
            fields["alt_text"] = item.alt_text
    if carousel_item:
        fields["is_carousel_item"] = "true"
    return fields


def _post_media_type(media: Sequence[MediaItem]) -> str:
    """`media_type` of the published post: IMAGE, VIDEO (reels) or CAROUSEL_ALBUM."""
    if len(media) > 1:
        return "CAROUSEL_ALBUM"
    return _MEDIA_TYPE_OF_POST[media[0].kind] if media else "IMAGE"


def _published(media: Mapping[str, Any]) -> Published:
    return Published(
        remote_id=str(media["id"]),
        url=str(media["permalink"]) if media.get("permalink") else None,
        published_at=parse_time(media.get("timestamp")),
    )

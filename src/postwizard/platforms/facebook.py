"""Adapter for Facebook Pages, through the Graph API (Pages API).

Connect: Facebook Login (`platforms.meta.login`); every Page the person granted becomes an
account, with its Page access token.

Credentials (encrypted at rest): `{"access_token": <Page access token>}`. Options (not secret):
`page_id`, `page_name`, `page_username`, `user_id` (who signed in).

Publish, by what the post carries:
- text (and `options.link`): `POST /{page-id}/feed` with `message` and `link`;
- one image: `POST /{page-id}/photos`, the file streamed as `source`, the text as `message`;
- several images: each uploaded unpublished (`published=false`), then one
  `POST /{page-id}/feed` with `attached_media[i]={"media_fbid": ...}`;
- a video: `POST /{page-id}/videos` with `source` and the text as `description`.
Alt text goes with each photo as `alt_text_custom`. Pages have no reply chains: a post with
`reply_to` is refused.

Reconcile: the Graph API has no idempotency key, so after a lost answer the Page's own posts
since the first attempt (`GET /{page-id}/posts?since=`) are compared with the text.

Metrics: post insights `post_media_view` (views, Meta's replacement of impressions),
`post_total_media_view_unique` (reach), `post_clicks`, `post_reactions_by_type_total`, and the
reactions, comments and shares summaries of the post; account stats are the Page's
`followers_count`. A video is known by its video id, which has no post insights: its numbers
are not read (yet).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from typing import IO, Any

from postwizard.platforms.meta.base import (
    MetaPlatformBase,
    comparable,
    count,
    insight_values,
    parse_time,
    summary_count,
)
from postwizard.platforms.meta.errors import INVALID_PARAMETER_CODE, GraphRefusedError
from postwizard.platforms.meta.login import CREATE_CONTENT_TASK
from postwizard.platforms.networks import Network
from postwizard.platforms.outgoing import check_request
from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    ConnectedAccount,
    ConnectError,
    MediaItem,
    PermanentError,
    PostMetrics,
    Published,
    PublishRequest,
    UndecidableOutcomeError,
    UnknownOutcomeError,
)

FACEBOOK_SCOPES = (
    "pages_show_list",
    "pages_manage_posts",
    "pages_read_engagement",
    "read_insights",
)
"""The Pages the person manages and their tokens; publishing; reading the Page's posts and their
reactions (reconcile, metrics); post insights (views, reach, clicks)."""
POST_INSIGHTS = (
    "post_media_view",
    "post_total_media_view_unique",
    "post_clicks",
    "post_reactions_by_type_total",
)
_POST_SUMMARY_FIELDS = (
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares"
)


class FacebookPlatform(MetaPlatformBase):
    network = Network.FACEBOOK
    network_name = "Facebook"
    scopes = FACEBOOK_SCOPES

    # --- Connecting --------------------------------------------------------------------------

    async def finish_oauth(
        self, pending: Mapping[str, str], code: str, redirect_uri: str
    ) -> list[ConnectedAccount]:
        """Every granted Page PostWizard may publish to, one account each."""
        signed_in = await self.login.sign_in(code, redirect_uri)
        pages = [
            page for page in signed_in.pages if not page.tasks or CREATE_CONTENT_TASK in page.tasks
        ]
        if not pages:
            raise ConnectError(
                "No Facebook Page was granted on which you can create content. Connect again "
                "and choose at least one Page you manage."
            )
        return [
            ConnectedAccount(
                remote_id=page.id,
                handle=f"@{page.username}" if page.username else page.name,
                display_name=page.name,
                credentials={"access_token": page.access_token},
                options={
                    "page_id": page.id,
                    "page_name": page.name,
                    "page_username": page.username,
                    "user_id": signed_in.user_id,
                },
            )
            for page in pages
        ]

    # --- Publishing --------------------------------------------------------------------------

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        page_id, token = self._access(account, "page_id")
        _check(request)
        media = list(request.media)
        if not media:
            data = {"message": request.text}
            if request.options.get("link"):
                data["link"] = str(request.options["link"])
            body = await self._create(token, f"/{page_id}/feed", data=data)
            return _published(str(body.get("id") or ""))
        if media[0].kind == "video":
            body = await self._upload(
                token, f"/{page_id}/videos", media[0], {"description": request.text}, create=True
            )
            video_id = str(body.get("id") or "")
            if not video_id:
                raise _no_id()
            return Published(
                remote_id=video_id, url=f"https://www.facebook.com/{page_id}/videos/{video_id}"
            )
        if len(media) == 1:
            body = await self._upload(
                token, f"/{page_id}/photos", media[0], {"message": request.text}, create=True
            )
            return _published(str(body.get("post_id") or ""))
        photo_ids = []
        for item in media:
            # Unpublished photos are not posts: one left over by a failure shows nowhere.
            uploaded = await self._upload(
                token, f"/{page_id}/photos", item, {"published": "false"}, create=False
            )
            photo_ids.append(str(uploaded.get("id") or ""))
        data = {"message": request.text}
        for index, photo_id in enumerate(photo_ids):
            data[f"attached_media[{index}]"] = json.dumps({"media_fbid": photo_id})
        body = await self._create(token, f"/{page_id}/feed", data=data)
        return _published(str(body.get("id") or ""))

    async def _create(self, token: str, path: str, *, data: Mapping[str, Any]) -> dict[str, Any]:
        return await self.api.call(
            "POST",
            path,
            token=token,
            data=data,
            creates_post=True,
            what="publishing the post",
            permission="pages_manage_posts",
        )

    async def _upload(
        self, token: str, path: str, item: MediaItem, fields: dict[str, str], *, create: bool
    ) -> dict[str, Any]:
        """`item` streamed from disk as `source` (multipart), with `fields`."""
        if item.alt_text and item.kind != "video":
            fields["alt_text_custom"] = item.alt_text
        with ExitStack() as files:
            source: IO[bytes] = files.enter_context(await asyncio.to_thread(item.path.open, "rb"))
            return await self.api.call(
                "POST",
                path,
                token=token,
                data=fields,
                files={"source": (item.filename, source, item.mime_type)},
                creates_post=create,
                what="publishing the post" if create else f"uploading {item.filename}",
                permission="pages_manage_posts",
            )

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        """The Page post carrying the request's text since the first attempt, None when the
        Page certainly has none, `UnknownOutcomeError` when it could not read far enough."""
        page_id, token = self._access(account, "page_id")
        wanted = comparable(request.text)
        if not wanted:
            raise UndecidableOutcomeError(
                "This Facebook post has no text to recognise it by among the Page's posts."
            )
        post = await self._find_posted(
            f"/{page_id}/posts",
            request,
            token=token,
            fields="id,message,created_time,permalink_url",
            what="looking for the post among the Page's posts",
            is_it=lambda post: comparable(str(post.get("message") or "")) == wanted,
            posted_by="the Page",
            permission="pages_read_engagement",
        )
        return _published_post(post) if post is not None else None

    # --- Numbers -----------------------------------------------------------------------------

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        """Reactions, comments, shares and the post insights of each post that still exists."""
        _, token = self._access(account, "page_id")
        found = []
        for remote_id in remote_ids:
            try:
                node = await self.api.call(
                    "GET",
                    f"/{remote_id}",
                    token=token,
                    params={"fields": _POST_SUMMARY_FIELDS},
                    what="reading a post's reactions",
                    permission="pages_read_engagement",
                )
                insights = insight_values(
                    await self.api.call(
                        "GET",
                        f"/{remote_id}/insights",
                        token=token,
                        params={"metric": ",".join(POST_INSIGHTS)},
                        what="reading a post's insights",
                        permission="read_insights",
                    )
                )
            except GraphRefusedError as error:
                # Deleted since (100/33), or not a Page post (a video's id has no post
                # insights, code 100): no numbers for it, the others are still read.
                if error.is_not_found or error.code == INVALID_PARAMETER_CODE:
                    continue
                raise
            shares = node.get("shares")
            by_type = insights.get("post_reactions_by_type_total")
            found.append(
                PostMetrics(
                    remote_id=remote_id,
                    impressions=count(insights.get("post_media_view")),
                    likes=summary_count(node, "reactions"),
                    replies=summary_count(node, "comments"),
                    reposts=count(shares.get("count")) if isinstance(shares, dict) else 0,
                    extra={
                        "reach": count(insights.get("post_total_media_view_unique")),
                        "clicks": count(insights.get("post_clicks")),
                        "reactions_by_type": by_type if isinstance(by_type, dict) else {},
                    },
                )
            )
        return found

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        """The Page's followers."""
        page_id, token = self._access(account, "page_id")
        body = await self.api.call(
            "GET",
            f"/{page_id}",
            token=token,
            params={"fields": "followers_count,fan_count"},
            what="reading the Page's followers",
            permission="pages_read_engagement",
        )
        return AccountStats(followers=count(body.get("followers_count")))


def _check(request: PublishRequest) -> None:
    if request.reply_to:
        raise PermanentError(
            "Facebook Pages have no reply chains; publish this part as its own post."
        )
    check_request(Network.FACEBOOK, request)


def _no_id() -> UnknownOutcomeError:
    return UnknownOutcomeError(
        "Facebook answered the post without its id; it may or may not have been published."
    )


def _published(post_id: str) -> Published:
    if not post_id:
        raise _no_id()
    return Published(remote_id=post_id, url=f"https://www.facebook.com/{post_id}")


def _published_post(post: Mapping[str, Any]) -> Published:
    post_id = str(post["id"])
    return Published(
        remote_id=post_id,
        url=str(post.get("permalink_url") or f"https://www.facebook.com/{post_id}"),
        published_at=parse_time(post.get("created_time")),
    )

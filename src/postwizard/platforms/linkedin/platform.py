"""The LinkedIn adapter: connect (member and pages), publish, reconcile, measure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from postwizard.platforms.http_calls import new_client
from postwizard.platforms.linkedin import oauth
from postwizard.platforms.linkedin.api import LinkedInApi, json_object
from postwizard.platforms.linkedin.little_text import escape_little_text, unescape_little_text
from postwizard.platforms.linkedin.media import MediaUploader
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
    UndecidableOutcomeError,
    UnknownOutcomeError,
)

DEFAULT_API_URL = "https://api.linkedin.com"
DEFAULT_AUTHORIZE_URL = "https://www.linkedin.com/oauth/v2/authorization"
DEFAULT_TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"  # noqa: S105 (a URL)
DEFAULT_VERSION = "202610"
DEFAULT_TIMEOUT_S = 20.0  # below the dispatcher's 30 s call timeout
DEFAULT_MEDIA_TIMEOUT_S = 20.0
VISIBILITIES = frozenset({"PUBLIC", "CONNECTIONS", "LOGGED_IN"})
CLOCK_SKEW = timedelta(minutes=5)
RECONCILE_PAGE_SIZE = 50
RECONCILE_MAX_PAGES = 10
METRICS_BATCH = 20


class LinkedInPlatform:
    """Members' profiles and, with `organization_pages`, the pages they administer."""

    network = Network.LINKEDIN
    provides_metrics = True
    connect_fields: Sequence[ConnectField] = ()

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        version: str = DEFAULT_VERSION,
        organization_pages: bool = False,
        api_url: str = DEFAULT_API_URL,
        authorize_url: str = DEFAULT_AUTHORIZE_URL,
        token_url: str = DEFAULT_TOKEN_URL,
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        media_poll_interval: float = 1.0,
        media_timeout: float = DEFAULT_MEDIA_TIMEOUT_S,
        reconcile_max_pages: int = RECONCILE_MAX_PAGES,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.version = version
        self.organization_pages = organization_pages
        self.api_url = api_url.rstrip("/")
        self.authorize_url = authorize_url
        self.token_url = token_url
        self.media_poll_interval = media_poll_interval
        self.media_timeout = media_timeout
        self.reconcile_max_pages = reconcile_max_pages
        self._owns_client = client is None
        self._client = new_client(client, timeout)

    @property
    def scopes(self) -> tuple[str, ...]:
        extra = oauth.ORGANIZATION_SCOPES if self.organization_pages else ()
        return oauth.MEMBER_SCOPES + extra

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- Connecting and renewing ------------------------------------------------------------

    async def start_oauth(
        self, form: Mapping[str, str], redirect_uri: str, state: str
    ) -> OAuthStart:
        url = authorization_url(
            self.authorize_url,
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            scope=" ".join(self.scopes),
            state=state,
        )
        return OAuthStart(authorize_url=url)

    async def finish_oauth(
        self, pending: Mapping[str, str], code: str, redirect_uri: str
    ) -> Sequence[ConnectedAccount]:
        """The member, and every page they administer: all are connected."""
        form = code_grant(
            code, redirect_uri, client_id=self.client_id, client_secret=self.client_secret
        )
        try:
            credentials = await oauth.token_request(
                self._client, self.token_url, form, what="exchanging the authorization code"
            )
        except AuthExpiredError as error:
            raise ConnectError(
                f"{error.message} Start connecting again.", http_status=error.http_status
            ) from error
        except PlatformError as error:
            raise ConnectError(error.message, http_status=error.http_status) from error
        api = LinkedInApi(
            self._client,
            api_url=self.api_url,
            version=self.version,
            token=credentials["access_token"],
        )
        return await oauth.connected_accounts(
            api, credentials, organization_pages=self.organization_pages
        )

    def needs_refresh(self, credentials: Mapping[str, str], now: datetime) -> bool:
        """True when a refresh token is stored and the access token ends within a day."""
        return oauth.needs_refresh(credentials, now)

    async def refresh(self, account: AccountRef) -> Mapping[str, str]:
        refresh_token = account.credentials.get("refresh_token", "")
        if not refresh_token:
            raise AuthExpiredError(
                "LinkedIn gave this app no refresh token; reconnect the account when its access "
                "token runs out (every 60 days)."
            )
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        return await oauth.token_request(
            self._client, self.token_url, form, what="renewing the access token"
        )

    # --- Publishing ---------------------------------------------------------------------------

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        author, kind = _author(account)
        check_request(Network.LINKEDIN, request)
        visibility = str(request.options.get("visibility") or "PUBLIC").upper()
        if visibility not in VISIBILITIES:
            raise PermanentError(
                f"LinkedIn has no visibility {visibility!r}; use one of "
                f"{', '.join(sorted(VISIBILITIES))}."
            )
        api = self._api(account)
        scope = _write_scope(kind)
        uploader = MediaUploader(
            api,
            owner=author,
            scope=scope,
            poll_interval=self.media_poll_interval,
            timeout=self.media_timeout,
        )
        urns = [await uploader.upload(item, n) for n, item in enumerate(request.media, start=1)]
        body: dict[str, Any] = {
            "author": author,
            "commentary": escape_little_text(request.text),
            "visibility": visibility,
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        content = _content(request.media, urns)
        if content:
            body["content"] = content
        response = await api.call(
            "POST",
            "/rest/posts",
            json=body,
            what="publishing the post",
            scope=scope,
            creates_post=True,
        )
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise UnknownOutcomeError(
                "LinkedIn answered the post without its id (x-restli-id); it may or may not have "
                "been published."
            )
        return Published(remote_id=urn, url=post_url(urn), published_at=datetime.now(UTC))

    # --- Reconciling ----------------------------------------------------------------------------

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        """The author's post carrying `request` since the first attempt (`GET /rest/posts`,
        finder `author`, newest first), None when all of them were read and none matches."""
        author, kind = _author(account)
        api = self._api(account)
        since = request.first_attempt_at - CLOCK_SKEW if request.first_attempt_at else None
        read_scope = "r_organization_social" if kind == "organization" else "r_member_social"
        matches: list[dict[str, Any]] = []
        for page in range(self.reconcile_max_pages):
            query = (
                f"q=author&author={quote(author, safe='')}&count={RECONCILE_PAGE_SIZE}"
                f"&start={page * RECONCILE_PAGE_SIZE}&sortBy=CREATED"
            )
            try:
                response = await api.call(
                    "GET",
                    f"/rest/posts?{query}",
                    headers={"X-RestLi-Method": "FINDER"},
                    what="looking for the post among the author's posts",
                    scope=read_scope,
                )
            except AuthExpiredError as error:
                if error.http_status == 403 and kind == "member":
                    raise UndecidableOutcomeError(
                        "LinkedIn lets apps read a member's own posts only with the "
                        "r_member_social permission, which it grants to approved partners; "
                        "PostWizard cannot check whether the post went out. Look at the "
                        "profile, then mark the post published or retry it.",
                        http_status=403,
                    ) from error
                raise
            elements = json_object(response, what="reading the author's posts").get("elements")
            posts = (
                [p for p in elements if isinstance(p, dict)] if isinstance(elements, list) else []
            )
            window_read = len(posts) < RECONCILE_PAGE_SIZE
            for post in posts:
                created = _created_at(post)
                if since is not None and created is not None and created < since:
                    window_read = True
                    break
                if _same_post(post, request):
                    matches.append(post)
            if window_read:
                return _published(matches[-1]) if matches else None
        if matches:
            return _published(matches[-1])
        raise UnknownOutcomeError(
            f"Could not tell whether the post was published: the author has more than "
            f"{self.reconcile_max_pages * RECONCILE_PAGE_SIZE} posts since the first attempt."
        )

    # --- Measuring ----------------------------------------------------------------------------

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        """Pages: share statistics (impressions, clicks, likes, comments, shares). Members:
        reactions and comments from social metadata; LinkedIn gives apps no impressions of a
        member's posts."""
        author, kind = _author(account)
        api = self._api(account)
        found: list[PostMetrics] = []
        for start in range(0, len(remote_ids), METRICS_BATCH):
            batch = list(remote_ids[start : start + METRICS_BATCH])
            if kind == "organization":
                found += await self._share_statistics(api, author, batch)
            else:
                found += await self._social_metadata(api, batch)
        return found

    async def _share_statistics(
        self, api: LinkedInApi, organization: str, urns: list[str]
    ) -> list[PostMetrics]:
        shares = [u for u in urns if u.startswith("urn:li:share:")]
        ugc_posts = [u for u in urns if u.startswith("urn:li:ugcPost:")]
        query = f"q=organizationalEntity&organizationalEntity={quote(organization, safe='')}"
        if shares:
            query += f"&shares={_restli_list(shares)}"
        if ugc_posts:
            query += f"&ugcPosts={_restli_list(ugc_posts)}"
        response = await api.call(
            "GET",
            f"/rest/organizationalEntityShareStatistics?{query}",
            what="reading the page's post statistics",
            scope="rw_organization_admin",
        )
        elements = json_object(response, what="reading post statistics").get("elements") or []
        metrics = []
        for element in elements:
            if not isinstance(element, dict):
                continue
            urn = element.get("share") or element.get("ugcPost")
            stats = element.get("totalShareStatistics")
            if not isinstance(urn, str) or not isinstance(stats, dict):
                continue
            metrics.append(
                PostMetrics(
                    remote_id=urn,
                    impressions=_count(stats.get("impressionCount")),
                    likes=_count(stats.get("likeCount")),
                    replies=_count(stats.get("commentCount")),
                    reposts=_count(stats.get("shareCount")),
                    extra={
                        key: stats[source]
                        for key, source in (
                            ("clicks", "clickCount"),
                            ("unique_impressions", "uniqueImpressionsCount"),
                            ("engagement", "engagement"),
                        )
                        if source in stats
                    },
                )
            )
        return metrics

    async def _social_metadata(self, api: LinkedInApi, urns: list[str]) -> list[PostMetrics]:
        try:
            response = await api.call(
                "GET",
                f"/rest/socialMetadata?ids={_restli_list(urns)}",
                what="reading the posts' reactions and comments",
                scope="r_member_social",
            )
        except AuthExpiredError as error:
            if error.http_status == 403:
                raise PermanentError(
                    "LinkedIn gives apps the reactions and comments of a member's posts only "
                    "with the r_member_social permission (approved partners); no numbers are "
                    "available for this profile's posts.",
                    http_status=403,
                ) from error
            raise
        results = json_object(response, what="reading social metadata").get("results") or {}
        metrics = []
        for urn, meta in results.items() if isinstance(results, dict) else []:
            if not isinstance(meta, dict):
                continue
            reactions = meta.get("reactionSummaries")
            likes = sum(
                _count(r.get("count")) or 0
                for r in (reactions.values() if isinstance(reactions, dict) else [])
                if isinstance(r, dict)
            )
            comments = meta.get("commentSummary")
            metrics.append(
                PostMetrics(
                    remote_id=str(urn),
                    likes=likes,
                    replies=_count(comments.get("count")) if isinstance(comments, dict) else None,
                )
            )
        return metrics

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        """A page's followers (`networkSizes`); LinkedIn gives apps no follower count of a
        member without partner permissions, so a member's stats are empty."""
        author, kind = _author(account)
        if kind != "organization":
            return AccountStats()
        response = await self._api(account).call(
            "GET",
            f"/rest/networkSizes/{quote(author, safe='')}?edgeType=COMPANY_FOLLOWED_BY_MEMBER",
            what="reading the page's followers",
            scope="r_organization_social",
        )
        size = json_object(response, what="reading the page's followers").get("firstDegreeSize")
        return AccountStats(followers=_count(size))

    def _api(self, account: AccountRef) -> LinkedInApi:
        token = account.credentials.get("access_token", "")
        if not token:
            raise AuthExpiredError(f"The LinkedIn account {account.handle} has no stored access.")
        return LinkedInApi(
            self._client,
            api_url=self.api_url,
            version=self.version,
            token=token,
            refreshable=bool(account.credentials.get("refresh_token")),
            expires_at=stored_time(account.credentials.get("expires_at")),
        )


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


def _author(account: AccountRef) -> tuple[str, str]:
    """The URN the account posts as, and whether it is a "member" or an "organization"."""
    author = str(account.options.get("author") or "")
    if not author.startswith(("urn:li:person:", "urn:li:organization:")):
        raise AuthExpiredError(
            f"The LinkedIn account {account.handle} does not say who it posts as; reconnect it."
        )
    kind = "organization" if author.startswith("urn:li:organization:") else "member"
    return author, kind


def _write_scope(kind: str) -> str:
    return "w_organization_social" if kind == "organization" else "w_member_social"


def _content(media: Sequence[MediaItem], urns: Sequence[str]) -> dict[str, Any] | None:
    """The post's `content`: one image or video as `media`, several images as `multiImage`."""
    if not media:
        return None
    if len(media) == 1:
        item = {"id": urns[0]}
        if media[0].kind == "video":
            item["title"] = media[0].alt_text or media[0].filename
        elif media[0].alt_text:
            item["altText"] = media[0].alt_text
        return {"media": item}
    images = [
        {"id": urn, **({"altText": item.alt_text} if item.alt_text else {})}
        for item, urn in zip(media, urns, strict=True)
    ]
    return {"multiImage": {"images": images}}


def _content_kind(content: object) -> str:
    if not isinstance(content, dict) or not content:
        return "none"
    if "multiImage" in content:
        return "images"
    media = content.get("media")
    media_id = str(media.get("id") or "") if isinstance(media, dict) else ""
    return "video" if media_id.startswith("urn:li:video:") else "image"


def _same_post(post: Mapping[str, Any], request: PublishRequest) -> bool:
    """Whether one of the author's posts could be the delivery's: same text, same kind of media."""
    expected = (
        "none"
        if not request.media
        else "images"
        if len(request.media) > 1
        else ("video" if request.media[0].kind == "video" else "image")
    )
    text = unescape_little_text(str(post.get("commentary") or ""))
    return _content_kind(post.get("content")) == expected and _plain(text) == _plain(request.text)


def _plain(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _created_at(post: Mapping[str, Any]) -> datetime | None:
    millis = post.get("createdAt") or post.get("publishedAt")
    if isinstance(millis, int) and not isinstance(millis, bool):
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    return None


def _published(post: Mapping[str, Any]) -> Published:
    urn = str(post["id"])
    return Published(remote_id=urn, url=post_url(urn), published_at=_created_at(post))


def _restli_list(urns: Sequence[str]) -> str:
    """Rest.li 2.0's `List(a,b)` query syntax: the URNs encoded, the syntax itself not."""
    return "List(" + ",".join(quote(urn, safe="") for urn in urns) + ")"


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

"""The Mastodon adapter: connect (OAuth per server), publish, reconcile, measure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx

from postwizard.net.ssrf import TargetPolicy, field_refusal, guarded_client
from postwizard.platforms.http_calls import new_client
from postwizard.platforms.mastodon import oauth
from postwizard.platforms.mastodon.api import MastodonApi, json_body
from postwizard.platforms.mastodon.instance_url import (
    INSTANCE_URL_FIELD,
    normalize_instance_url,
)
from postwizard.platforms.mastodon.media import upload_media
from postwizard.platforms.mastodon.reconcile import find_published_status
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    AuthExpiredError,
    ConnectedAccount,
    ConnectError,
    ConnectField,
    OAuthStart,
    PermanentError,
    PostMetrics,
    Published,
    PublishRequest,
    TransientError,
    UnknownOutcomeError,
)

DEFAULT_TIMEOUT_S = 15.0  # per connect / read / write of one request, not per upload
DEFAULT_SCOPES = "read:accounts read:statuses write:statuses write:media"
"""Least privilege (Mastodon's advice): who the account is (`verify_credentials`), its statuses
(reconcile, `/source`, metrics), posting, and media uploads. Servers that know only the
top-level scopes can be given "read write" through the constructor."""
VISIBILITIES = frozenset({"public", "unlisted", "private", "direct"})
DEFAULT_MEDIA_PROCESSING_TIMEOUT_S = 20.0
"""How long publishing waits for the server to process a video: inside the engine's default
30-second budget for one call, so the wait ends as a clean `TransientError`."""
METRICS_BATCH = 20  # Mastodon's DEFAULT_STATUSES_LIMIT for GET /api/v1/statuses?id[]=
RECONCILE_MAX_PAGES = 25  # 1,000 statuses since the first attempt


class MastodonPlatform:
    """Publishes to any Mastodon server, and to servers that speak its API (GoToSocial, Akkoma,
    Pixelfed, ...). There is no fixed API host: every account carries its server's URL."""

    network = Network.MASTODON
    provides_metrics = True
    connect_fields: Sequence[ConnectField] = (
        ConnectField(
            name=INSTANCE_URL_FIELD,
            label="Your Mastodon server",
            help="The address of the server your account is on, as in @you@mastodon.social.",
            placeholder="mastodon.social",
        ),
    )

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        client_name: str = "PostWizard",
        website: str | None = None,
        scopes: str = DEFAULT_SCOPES,
        media_poll_interval: float = 1.0,
        media_processing_timeout: float = DEFAULT_MEDIA_PROCESSING_TIMEOUT_S,
        reconcile_max_pages: int = RECONCILE_MAX_PAGES,
        guard: TargetPolicy | None = None,
    ) -> None:
        # `guard`: the server is a URL the person typed; every request (and every redirect,
        # followed so a server that moved still connects) goes through the SSRF guard.
        if client is None and guard is not None:
            client = guarded_client(
                guard, timeout, refuse=field_refusal(INSTANCE_URL_FIELD), follow_redirects=True
            )
        self._client = new_client(client, timeout)
        self.client_name = client_name
        self.website = website
        self.scopes = scopes
        self.media_poll_interval = media_poll_interval
        self.media_processing_timeout = media_processing_timeout
        self.reconcile_max_pages = reconcile_max_pages
        # Servers older than Mastodon 4.3 have no GET /api/v1/statuses?id[]=.
        self._no_batch_lookup: set[str] = set()

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- Connecting ---------------------------------------------------------------------------

    async def start_oauth(
        self, form: Mapping[str, str], redirect_uri: str, state: str
    ) -> OAuthStart:
        """Register PostWizard on the person's server; where to send them to authorize it."""
        instance_url = normalize_instance_url(form.get(INSTANCE_URL_FIELD, ""))
        client_id, client_secret = await oauth.register_app(
            MastodonApi(self._client, instance_url),
            client_name=self.client_name,
            redirect_uri=redirect_uri,
            scopes=self.scopes,
            website=self.website,
        )
        url = oauth.authorize_url(
            instance_url,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=self.scopes,
            state=state,
        )
        pending = {
            "instance_url": instance_url,
            "client_id": client_id,
            "client_secret": client_secret,
            "scopes": self.scopes,
        }
        return OAuthStart(authorize_url=url, pending=pending)

    async def finish_oauth(
        self, pending: Mapping[str, str], code: str, redirect_uri: str
    ) -> ConnectedAccount:
        """Exchange the code; the account with its token and its server's limits."""
        try:
            instance_url = pending["instance_url"]
            client_id, client_secret = pending["client_id"], pending["client_secret"]
        except KeyError as error:
            raise ConnectError("The connection attempt expired; start connecting again.") from error
        if not code:
            raise ConnectError("The server sent no authorization code; start connecting again.")
        token = await oauth.exchange_code(
            MastodonApi(self._client, instance_url),
            code=code,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            scopes=pending.get("scopes", self.scopes),
        )
        return await oauth.connected_account(
            MastodonApi(self._client, instance_url, token),
            client_id=client_id,
            client_secret=client_secret,
        )

    # --- Publishing ---------------------------------------------------------------------------

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        """Upload the media (waiting for processing), then create the status with the
        delivery's marker as its `Idempotency-Key`."""
        api = self._api(account)
        form = _status_form(request)  # checks the options before anything is uploaded
        media_ids = [
            await upload_media(
                api,
                item,
                number=number,
                poll_interval=self.media_poll_interval,
                processing_timeout=self.media_processing_timeout,
            )
            for number, item in enumerate(request.media, start=1)
        ]
        if media_ids:
            form["media_ids[]"] = media_ids
        try:
            response = await api.call(
                "POST",
                "/api/v1/statuses",
                data=form,
                # Mastodon keeps the key for about an hour: a repeated create returns the first
                # status instead of making a second one.
                headers={"Idempotency-Key": request.marker},
                creates_post=True,
                what="publishing the post",
            )
        except PermanentError as error:
            if error.http_status == 404 and request.reply_to:
                raise PermanentError(
                    f"{api.host} refused the post: the post it replies to "
                    f"({request.reply_to}) no longer exists or cannot be seen.",
                    http_status=404,
                ) from error
            raise
        try:
            return _published(json_body(response, dict, what="publishing the post"))
        except (TransientError, KeyError) as error:
            raise UnknownOutcomeError(
                f"{api.host} answered the post with something that is not a status; it may or "
                "may not have been published."
            ) from error

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        """The status carrying `request` among the account's own since its first attempt (see
        `reconcile.py`), None when certainly absent, `UnknownOutcomeError` when it cannot tell."""
        api = self._api(account)
        account_id = _setting(account, "account_id") or await self._account_id(api)
        status = await find_published_status(
            api, account_id=account_id, request=request, max_pages=self.reconcile_max_pages
        )
        return _published(status) if status is not None else None

    # --- Measuring ----------------------------------------------------------------------------

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        """Favourites, boosts, replies and quotes of the statuses that still exist."""
        api = self._api(account)
        statuses: list[dict[str, Any]] = []
        for start in range(0, len(remote_ids), METRICS_BATCH):
            statuses += await self._statuses(api, remote_ids[start : start + METRICS_BATCH])
        return [_metrics(status) for status in statuses if status.get("id")]

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        """Followers, following and statuses of the account (`verify_credentials`)."""
        api = self._api(account)
        response = await api.call(
            "GET", "/api/v1/accounts/verify_credentials", what="reading the account's numbers"
        )
        body = json_body(response, dict, what="reading the account's numbers")
        return AccountStats(
            followers=_count(body.get("followers_count")),
            following=_count(body.get("following_count")),
            posts=_count(body.get("statuses_count")),
        )

    async def _statuses(self, api: MastodonApi, ids: Sequence[str]) -> list[dict[str, Any]]:
        """The statuses of `ids` that still exist: one batch request where the server has it."""
        if api.instance_url not in self._no_batch_lookup:
            try:
                response = await api.call(
                    "GET",
                    "/api/v1/statuses",
                    params=[("id[]", remote_id) for remote_id in ids],
                    what="reading the posts' numbers",
                )
                body = json_body(response, list, what="reading the posts' numbers")
                return [status for status in body if isinstance(status, dict) and "id" in status]
            except PermanentError as error:
                if error.http_status not in (404, 405):
                    raise
                self._no_batch_lookup.add(api.instance_url)
        found: list[dict[str, Any]] = []
        for remote_id in ids:
            try:
                response = await api.call(
                    "GET", f"/api/v1/statuses/{remote_id}", what="reading a post's numbers"
                )
            except PermanentError as error:
                if error.http_status in (404, 410):  # deleted since: no numbers to read
                    continue
                raise
            found.append(json_body(response, dict, what="reading a post's numbers"))
        return found

    async def _account_id(self, api: MastodonApi) -> str:
        response = await api.call(
            "GET", "/api/v1/accounts/verify_credentials", what="reading the account"
        )
        account_id = json_body(response, dict, what="reading the account").get("id")
        if not account_id:
            raise UnknownOutcomeError(f"{api.host} did not say which account the token acts as.")
        return str(account_id)

    def _api(self, account: AccountRef) -> MastodonApi:
        token = account.credentials.get("access_token", "")
        instance_url = _setting(account, "instance_url")
        if not token or not instance_url:
            raise AuthExpiredError(
                f"The Mastodon account {account.handle} has no stored access; reconnect it."
            )
        return MastodonApi(self._client, instance_url, token)


def _setting(account: AccountRef, key: str) -> str:
    """A non-secret fact of the account: from its options, else from its credentials."""
    value = account.options.get(key) or account.credentials.get(key) or ""
    return str(value)


def _status_form(request: PublishRequest) -> dict[str, Any]:
    """The form fields of `POST /api/v1/statuses` for `request` (without media)."""
    options = request.options
    form: dict[str, Any] = {"status": request.text}
    visibility = options.get("visibility")
    if visibility:
        if visibility not in VISIBILITIES:
            raise PermanentError(
                f"Mastodon has no visibility {visibility!r}; use one of "
                f"{', '.join(sorted(VISIBILITIES))}."
            )
        form["visibility"] = visibility
    for key in ("spoiler_text", "language"):
        if options.get(key):
            form[key] = str(options[key])
    if options.get("sensitive") is not None:
        form["sensitive"] = "true" if options["sensitive"] else "false"
    if request.reply_to:
        form["in_reply_to_id"] = request.reply_to
    return form


def _published(status: dict[str, Any]) -> Published:
    created = status.get("created_at")
    try:
        published_at = datetime.fromisoformat(created) if isinstance(created, str) else None
    except ValueError:
        published_at = None
    return Published(
        remote_id=str(status["id"]),
        url=status.get("url") or status.get("uri"),
        published_at=published_at,
    )


def _metrics(status: dict[str, Any]) -> PostMetrics:
    return PostMetrics(
        remote_id=str(status["id"]),
        likes=_count(status.get("favourites_count")),
        reposts=_count(status.get("reblogs_count")),
        replies=_count(status.get("replies_count")),
        quotes=_count(status.get("quotes_count")),
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None

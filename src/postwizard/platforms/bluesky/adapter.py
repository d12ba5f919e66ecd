"""The Bluesky adapter: publish, reconcile, metrics and account stats for one account's PDS.

Exactly once: every post is created under a record key derived from its delivery
(`record_key.py`), so a retry cannot create a second record; a PDS answers a create under an
existing key with a 500 today (bluesky-social/atproto#4725; a named error such as
`RecordAlreadyExists` is on its way), and either way the adapter then reads that key back and
returns the post that is there. `reconcile` is one `getRecord` on the key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from postwizard.net.ssrf import TargetPolicy, field_refusal, guarded_client
from postwizard.platforms.bluesky.errors import classify
from postwizard.platforms.bluesky.post_record import (
    GET_RECORD,
    AccountSession,
    PostRecordBuilder,
    check_post,
)
from postwizard.platforms.bluesky.record_key import (
    POST_COLLECTION,
    AtUri,
    post_web_url,
    record_key,
)
from postwizard.platforms.bluesky.session import access_token_needs_refresh
from postwizard.platforms.bluesky.sign_in import (
    CONNECT_FIELDS,
    FIELD_SERVICE_URL,
    GET_PROFILE,
    connect_account,
    renew_session,
)
from postwizard.platforms.bluesky.xrpc import Xrpc, XrpcFailure
from postwizard.platforms.http_calls import new_client
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AccountStats,
    ConnectedAccount,
    PermanentError,
    PlatformError,
    PostMetrics,
    Published,
    PublishRequest,
    TransientError,
    UnknownOutcomeError,
)

DEFAULT_SERVICE_URL = "https://bsky.social"
DEFAULT_PLC_DIRECTORY_URL = "https://plc.directory"
DEFAULT_WEB_URL = "https://bsky.app"
DEFAULT_TIMEOUT_S = 15.0
METRICS_BATCH = 25  # app.bsky.feed.getPosts: uris maxLength

CREATE_RECORD = "com.atproto.repo.createRecord"
GET_POSTS = "app.bsky.feed.getPosts"


class BlueskyPlatform:
    """Bluesky and any AT Protocol PDS. `service_url` is where handles are resolved and people
    sign in unless they name another server; `plc_directory_url` resolves `did:plc` documents;
    `web_url` is the app that post links open in."""

    network = Network.BLUESKY
    provides_metrics = True
    connect_fields = CONNECT_FIELDS

    def __init__(
        self,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        service_url: str = DEFAULT_SERVICE_URL,
        plc_directory_url: str = DEFAULT_PLC_DIRECTORY_URL,
        web_url: str = DEFAULT_WEB_URL,
        guard: TargetPolicy | None = None,
    ) -> None:
        # `guard`: the service and the PDS a DID document names are URLs people control;
        # every request goes through the SSRF guard.
        if client is None and guard is not None:
            client = guarded_client(guard, timeout, refuse=field_refusal(FIELD_SERVICE_URL))
        self.service_url = service_url.rstrip("/")
        self.plc_directory_url = plc_directory_url.rstrip("/")
        self.web_url = web_url.rstrip("/")
        self._client = new_client(client, timeout)
        self._xrpc = Xrpc(self._client)
        self._records = PostRecordBuilder(self._xrpc)

    async def aclose(self) -> None:
        await self._client.aclose()

    # --- Connecting and renewing -------------------------------------------------------------

    async def connect(self, form: Mapping[str, str]) -> ConnectedAccount:
        """Sign in with a handle (or DID) and an app password; see `sign_in.py`."""
        return await connect_account(
            self._xrpc,
            form,
            default_service_url=self.service_url,
            plc_directory_url=self.plc_directory_url,
        )

    def needs_refresh(self, credentials: Mapping[str, str], now: datetime) -> bool:
        """True when the access JWT is missing or expires within five minutes."""
        return access_token_needs_refresh(credentials, now)

    async def refresh(self, account: AccountRef) -> Mapping[str, str]:
        """A new session: refresh JWT first, the stored app password if that ran out."""
        return await renew_session(self._xrpc, account.credentials, datetime.now(UTC))

    # --- Publishing ----------------------------------------------------------------------------

    async def publish(self, account: AccountRef, request: PublishRequest) -> Published:
        session = AccountSession.of(account)
        check_post(request)
        rkey = _record_key(request)
        record = await self._records.build(session, request, datetime.now(UTC))
        body = {"repo": session.did, "collection": POST_COLLECTION, "rkey": rkey, "record": record}
        try:
            answer = await self._xrpc.procedure(
                session.pds_url, CREATE_RECORD, body=body, token=session.access_jwt
            )
        except XrpcFailure as failure:
            return await self._after_failed_create(session, rkey, failure)
        uri = str(answer.get("uri") or AtUri(session.did, POST_COLLECTION, rkey))
        return Published(
            remote_id=uri,
            url=post_web_url(self.web_url, session.handle, rkey),
            published_at=_parse_time(record["createdAt"]),
        )

    async def reconcile(self, account: AccountRef, request: PublishRequest) -> Published | None:
        """The post under the delivery's record key, None if the PDS has no record there."""
        session = AccountSession.of(account)
        rkey = _record_key(request)
        try:
            return await self._find(session, rkey)
        except TransientError as error:
            raise UnknownOutcomeError(
                f"Could not ask Bluesky whether the post exists: {error.message}",
                http_status=error.http_status,
            ) from error

    async def _after_failed_create(
        self, session: AccountSession, rkey: str, failure: XrpcFailure
    ) -> Published:
        """A create that failed with an answer may still have a post behind it: a 5xx (the
        PDS's answer to an existing key, or a gateway after the PDS applied it) or an explicit
        "already exists". The key says where to look; everything else is classified as is."""
        status = failure.status or 0
        exists = status == 409 or "AlreadyExists" in failure.error
        if not exists and status < 500:
            raise classify(failure, what="the post", creates=True) from failure
        try:
            found = await self._find(session, rkey)
        except PlatformError as error:
            raise UnknownOutcomeError(
                f"Bluesky answered {status} ({failure.message}) to the post and could not be "
                f"asked whether it exists ({error.message}).",
                http_status=status,
            ) from failure
        if found is not None:
            return found
        if exists:
            raise UnknownOutcomeError(
                f"Bluesky says the post already exists ({failure.message}) but does not show it.",
                http_status=status,
            ) from failure
        raise TransientError(
            f"Bluesky answered {status} ({failure.message}) and did not create the post; it "
            "will be tried again (the same record key cannot create a second post).",
            http_status=status,
        ) from failure

    async def _find(self, session: AccountSession, rkey: str) -> Published | None:
        try:
            answer = await self._xrpc.query(
                session.pds_url,
                GET_RECORD,
                params={"repo": session.did, "collection": POST_COLLECTION, "rkey": rkey},
                token=session.access_jwt,
            )
        except XrpcFailure as failure:
            if failure.error == "RecordNotFound":
                return None
            raise classify(failure, what="the lookup of the post") from failure
        value = answer.get("value")
        created = value.get("createdAt") if isinstance(value, dict) else None
        return Published(
            remote_id=str(answer.get("uri") or AtUri(session.did, POST_COLLECTION, rkey)),
            url=post_web_url(self.web_url, session.handle, rkey),
            published_at=_parse_time(created) if isinstance(created, str) else None,
        )

    # --- Measuring -----------------------------------------------------------------------------

    async def fetch_post_metrics(
        self, account: AccountRef, remote_ids: Sequence[str]
    ) -> list[PostMetrics]:
        """Likes, reposts, replies and quotes of posts (AT URIs), 25 per request. Bluesky
        counts no impressions; a deleted post is simply missing from the answer."""
        session = AccountSession.of(account)
        metrics: list[PostMetrics] = []
        for start in range(0, len(remote_ids), METRICS_BATCH):
            batch = list(remote_ids[start : start + METRICS_BATCH])
            answer = await self._read(session, GET_POSTS, {"uris": batch}, what="the post metrics")
            for post in answer.get("posts") or []:
                if isinstance(post, dict) and isinstance(post.get("uri"), str):
                    metrics.append(_post_metrics(post))
        return metrics

    async def fetch_account_stats(self, account: AccountRef) -> AccountStats:
        session = AccountSession.of(account)
        profile = await self._read(
            session, GET_PROFILE, {"actor": session.did}, what="the account's profile"
        )
        return AccountStats(
            followers=_count(profile, "followersCount"),
            following=_count(profile, "followsCount"),
            posts=_count(profile, "postsCount"),
        )

    async def _read(
        self,
        session: AccountSession,
        nsid: str,
        params: Mapping[str, str | Sequence[str]],
        *,
        what: str,
    ) -> dict[str, Any]:
        try:
            return await self._xrpc.query(
                session.pds_url, nsid, params=params, token=session.access_jwt
            )
        except XrpcFailure as failure:
            raise classify(failure, what=what) from failure


def _record_key(request: PublishRequest) -> str:
    if request.first_attempt_at is None:
        # Without it the key would differ between attempts and a retry could post twice.
        raise PermanentError(
            "PostWizard did not pass the time of this delivery's first attempt, from which its "
            "Bluesky record key is made; not publishing rather than risking a duplicate."
        )
    return record_key(request.marker, request.first_attempt_at)


def _post_metrics(post: Mapping[str, Any]) -> PostMetrics:
    extra = {"bookmarks": post["bookmarkCount"]} if "bookmarkCount" in post else {}
    return PostMetrics(
        remote_id=str(post["uri"]),
        likes=_count(post, "likeCount"),
        reposts=_count(post, "repostCount"),
        replies=_count(post, "replyCount"),
        quotes=_count(post, "quoteCount"),
        extra=extra,
    )


def _count(values: Mapping[str, Any], key: str) -> int | None:
    value = values.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

"""The `app.bsky.feed.post` record of one delivery: text, languages, facets, and an embed
(images, or a link card), plus reply references for a thread.

Link cards: the card shows the first link of the text with the URL itself as its title and no
description or thumbnail. PostWizard does not fetch the linked page to fill them in: that would
make publishing depend on (and wait for) a third-party site at the moment of posting, and let
the text of a post make the server fetch arbitrary addresses. The person can turn the card off
with the option `link_card: false`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import anyio

from postwizard.platforms.bluesky import facets as rich_text
from postwizard.platforms.bluesky.errors import classify
from postwizard.platforms.bluesky.identity import resolve_handle
from postwizard.platforms.bluesky.record_key import POST_COLLECTION, AtUri
from postwizard.platforms.bluesky.session import ACCESS_JWT, DID, HANDLE, PDS_URL
from postwizard.platforms.bluesky.xrpc import Xrpc, XrpcFailure
from postwizard.platforms.limits import MediaFacts, check
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import (
    AccountRef,
    AuthExpiredError,
    MediaItem,
    PermanentError,
    PublishRequest,
    TokenExpiredError,
)

UPLOAD_BLOB = "com.atproto.repo.uploadBlob"
GET_RECORD = "com.atproto.repo.getRecord"
MAX_LANGUAGES = 3  # app.bsky.feed.post: langs maxLength
_UPLOAD_CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class AccountSession:
    """What every call needs: the account's DID, handle, PDS and current access JWT."""

    did: str
    handle: str
    pds_url: str
    access_jwt: str

    @classmethod
    def of(cls, account: AccountRef) -> AccountSession:
        """The session stored in the account's credentials."""
        credentials = account.credentials
        did, pds_url = credentials.get(DID, ""), credentials.get(PDS_URL, "")
        if not did or not pds_url:
            raise AuthExpiredError("The Bluesky account has no stored session; reconnect it.")
        if not credentials.get(ACCESS_JWT):
            raise TokenExpiredError("The Bluesky session has no access token yet; renewing it.")
        return cls(
            did=did,
            handle=credentials.get(HANDLE) or account.handle,
            pds_url=pds_url,
            access_jwt=credentials[ACCESS_JWT],
        )


def check_post(request: PublishRequest) -> None:
    """Refuse, before any call, a post Bluesky would refuse (PermanentError with every reason)."""
    if any(item.kind == "video" for item in request.media):
        raise PermanentError(
            "PostWizard cannot post videos to Bluesky yet; post images (up to 4) or text."
        )
    facts = [
        MediaFacts(item.mime_type, item.size_bytes, item.width, item.height)
        for item in request.media
    ]
    violations = check(Network.BLUESKY, request.text, facts)
    if violations:
        raise PermanentError(" ".join(violation.message for violation in violations))


def languages(options: Mapping[str, Any]) -> list[str]:
    """The post's `langs` from the option `language` ("en" or ["en", "de"])."""
    value = options.get("language") or options.get("languages")
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    if not isinstance(value, list | tuple):
        return []
    return [str(item) for item in value if str(item).strip()][:MAX_LANGUAGES]


def created_at_text(moment: datetime) -> str:
    """A record's `createdAt`: UTC with milliseconds and "Z", as the Bluesky app writes it."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PostRecordBuilder:
    """Builds a post's record, uploading its images and looking up what it refers to."""

    def __init__(self, xrpc: Xrpc) -> None:
        self._xrpc = xrpc

    async def build(
        self, session: AccountSession, request: PublishRequest, created_at: datetime
    ) -> dict[str, Any]:
        """The record to create (images are uploaded on the way)."""
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": request.text,
            "createdAt": created_at_text(created_at),
        }
        langs = languages(request.options)
        if langs:
            record["langs"] = langs

        async def did_of(handle: str) -> str | None:
            try:
                return await resolve_handle(self._xrpc, session.pds_url, handle)
            except XrpcFailure as failure:
                # Not "unknown handle" but no verdict: better late than with a dead mention.
                raise classify(failure, what=f"the lookup of @{handle}") from failure

        facets = await rich_text.facets_for(request.text, did_of)
        if facets:
            record["facets"] = facets
        embed = await self._embed(session, request, facets)
        if embed is not None:
            record["embed"] = embed
        if request.reply_to:
            record["reply"] = await self._reply_refs(session, request.reply_to)
        return record

    async def _embed(
        self, session: AccountSession, request: PublishRequest, facets: Sequence[rich_text.Facet]
    ) -> dict[str, Any] | None:
        if request.media:
            images = [
                await self._image(session, index, item) for index, item in enumerate(request.media)
            ]
            return {"$type": "app.bsky.embed.images", "images": images}
        link = rich_text.first_link(facets)
        if link is None or request.options.get("link_card") is False:
            return None
        return {
            "$type": "app.bsky.embed.external",
            "external": {"uri": link, "title": link, "description": ""},
        }

    async def _image(self, session: AccountSession, index: int, item: MediaItem) -> dict[str, Any]:
        blob = await self.upload(session, index, item)
        image: dict[str, Any] = {"alt": item.alt_text, "image": blob}
        if item.width and item.height and item.width > 0 and item.height > 0:
            image["aspectRatio"] = {"width": item.width, "height": item.height}
        return image

    async def upload(self, session: AccountSession, index: int, item: MediaItem) -> dict[str, Any]:
        """Upload one file as a blob, streamed from disk; the blob reference for the record."""
        what = f"the upload of image {index + 1} ({item.filename})"
        try:
            size = (await anyio.Path(item.path).stat()).st_size
        except OSError as error:
            raise PermanentError(
                f"Image {index + 1} ({item.filename}) cannot be read: {error.strerror}."
            ) from error
        try:
            answer = await self._xrpc.procedure(
                session.pds_url,
                UPLOAD_BLOB,
                token=session.access_jwt,
                content=_file_chunks(item),
                content_type=item.mime_type,
                content_length=size,
            )
        except XrpcFailure as failure:
            # An upload creates no post (an unused blob is deleted by the PDS): plain retry.
            raise classify(failure, what=what) from failure
        blob = answer.get("blob")
        if not isinstance(blob, dict):
            raise PermanentError(f"Bluesky's answer to {what} had no blob reference.")
        return blob

    async def _reply_refs(self, session: AccountSession, reply_to: str) -> dict[str, Any]:
        """`reply.parent` is the post answered; `reply.root` the first post of its thread."""
        try:
            parent_uri = AtUri.parse(reply_to)
        except ValueError as error:
            raise PermanentError(
                f"The post to reply to is not a Bluesky post address: {reply_to!r}."
            ) from error
        try:
            parent = await self._xrpc.query(
                session.pds_url,
                GET_RECORD,
                params={
                    "repo": parent_uri.repo,
                    "collection": parent_uri.collection,
                    "rkey": parent_uri.rkey,
                },
                token=session.access_jwt,
            )
        except XrpcFailure as failure:
            if failure.error == "RecordNotFound":
                raise PermanentError(
                    "The post this one replies to no longer exists on Bluesky."
                ) from failure
            raise classify(failure, what="the post being replied to") from failure
        parent_ref = {"uri": str(parent["uri"]), "cid": str(parent["cid"])}
        value = parent.get("value")
        parent_reply = value.get("reply") if isinstance(value, dict) else None
        root = parent_reply.get("root") if isinstance(parent_reply, dict) else None
        if not (isinstance(root, dict) and {"uri", "cid"} <= root.keys()):
            root = parent_ref
        return {"root": {"uri": root["uri"], "cid": root["cid"]}, "parent": parent_ref}


async def _file_chunks(item: MediaItem) -> AsyncIterator[bytes]:
    async with await anyio.open_file(item.path, "rb") as file:
        while chunk := await file.read(_UPLOAD_CHUNK_BYTES):
            yield chunk

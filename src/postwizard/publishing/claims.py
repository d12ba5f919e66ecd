"""A batch of claimed deliveries with everything processing needs, loaded in a few queries for
the whole batch (accounts, attempt history, per-target options, media) instead of per delivery."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard.accounts.models import SocialAccount
from postwizard.db.bulk import one_of
from postwizard.media.models import Media, MediaKind
from postwizard.media.public_urls import PublicMediaUrls
from postwizard.media.storage import MediaStorage
from postwizard.platforms.protocol import MediaItem
from postwizard.posts.models import PostMedia, PostTarget
from postwizard.publishing import repository
from postwizard.publishing.models import Attempt, Delivery


@dataclass
class Claim:
    """A delivery this worker holds a lease on (detached from the session that claimed it)."""

    delivery: Delivery
    account: SocialAccount | None
    last: Attempt | None = None
    # When the first publish attempt started: stable across retries (see PublishRequest).
    first_attempt_at: datetime | None = None
    options: dict[str, Any] = field(default_factory=dict)
    media: list[MediaItem] = field(default_factory=list)
    # A publish Attempt committed together with the claim (the dispatcher's fast path).
    prepared: Attempt | None = None
    # Publish calls made before this claim (so recording an outcome twice counts it once).
    publishes_before: int = field(init=False)

    def __post_init__(self) -> None:
        self.publishes_before = self.delivery.attempt_count


async def load_claims(
    session: AsyncSession,
    deliveries: Sequence[Delivery],
    storage: MediaStorage | None,
    public_urls: PublicMediaUrls | None = None,
) -> list[Claim]:
    """The claims of `deliveries`; with `public_urls`, each medium carries a signed public URL
    (for networks that fetch media by URL) unless the storage gives a direct one."""
    if not deliveries:
        return []
    account_ids = {d.account_id for d in deliveries}
    accounts = {
        a.id: a
        for a in await session.scalars(
            select(SocialAccount).where(one_of(session, SocialAccount.id, account_ids))
        )
    }
    claims = {d.id: Claim(delivery=d, account=accounts.get(d.account_id)) for d in deliveries}
    for attempt in await repository.attempts_of(session, list(claims)):
        claim = claims[attempt.delivery_id]
        claim.last = attempt  # ordered by number: the last one wins
        if attempt.kind == "publish" and claim.first_attempt_at is None:
            claim.first_attempt_at = attempt.started_at
    await _load_content(session, list(claims.values()), storage, public_urls)
    return list(claims.values())


async def _load_content(
    session: AsyncSession,
    claims: list[Claim],
    storage: MediaStorage | None,
    public_urls: PublicMediaUrls | None = None,
) -> None:
    """Each delivery's per-network options and media: the target's own media when it has a
    variant with media, else the post's, in the post's order."""
    target_ids = [c.delivery.target_id for c in claims if c.delivery.target_id is not None]
    targets: dict[uuid.UUID, PostTarget] = {}
    if target_ids:
        targets = {
            t.id: t
            for t in await session.scalars(
                select(PostTarget).where(one_of(session, PostTarget.id, target_ids))
            )
        }
    post_media: dict[uuid.UUID, list[uuid.UUID]] = {}
    rows = await session.scalars(
        select(PostMedia)
        .where(one_of(session, PostMedia.post_id, {c.delivery.post_id for c in claims}))
        .order_by(PostMedia.post_id, PostMedia.position)
    )
    for row in rows:
        post_media.setdefault(row.post_id, []).append(row.media_id)
    wanted: dict[uuid.UUID, list[uuid.UUID]] = {}
    for claim in claims:
        target = targets.get(claim.delivery.target_id) if claim.delivery.target_id else None
        claim.options = dict(target.options) if target is not None else {}
        if target is not None and target.media_ids is not None:
            wanted[claim.delivery.id] = [uuid.UUID(str(i)) for i in target.media_ids]
        else:
            wanted[claim.delivery.id] = post_media.get(claim.delivery.post_id, [])
    all_ids = {media_id for ids in wanted.values() for media_id in ids}
    if not all_ids or storage is None:
        return
    media = {
        m.id: m
        for m in await session.scalars(select(Media).where(one_of(session, Media.id, all_ids)))
    }
    for claim in claims:
        for media_id in wanted[claim.delivery.id]:
            item = media.get(media_id)
            path = storage.local_path(item.storage_key) if item is not None else None
            if item is not None and path is not None:
                url = storage.url(item.storage_key)
                if url is None and public_urls is not None:
                    url = public_urls.url_for(item.storage_key, item.mime_type)
                claim.media.append(media_item(item, path, url))


def media_item(media: Media, path: Path, url: str | None) -> MediaItem:
    kind: Literal["image", "gif", "video"] = (
        "video"
        if media.kind == MediaKind.VIDEO
        else "gif"
        if media.mime_type == "image/gif"
        else "image"
    )
    return MediaItem(
        kind=kind,
        mime_type=media.mime_type,
        size_bytes=media.size_bytes,
        path=path,
        filename=media.original_filename or path.name,
        alt_text=media.alt_text,
        width=media.width,
        height=media.height,
        duration_seconds=media.duration_seconds,
        public_url=url,
    )

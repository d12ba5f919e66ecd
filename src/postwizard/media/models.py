"""A media item: one validated image or video in a workspace's library."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from postwizard.db.base import Base, CreatedAtMixin, IdMixin, string_enum

MAX_ALT_TEXT = 1500
MAX_FILENAME = 255


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"


MediaKindColumn = string_enum(MediaKind, "media_kind", length=16)


class Media(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "media"
    # The same bytes uploaded twice in a workspace are one item.
    __table_args__ = (
        UniqueConstraint("workspace_id", "sha256", name="uq_media_workspace_id_sha256"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    # SHA-256 of the uploaded bytes: the content address (storage keys derive from it).
    sha256: Mapped[str] = mapped_column(String(64))
    kind: Mapped[MediaKind] = mapped_column(MediaKindColumn)
    mime_type: Mapped[str] = mapped_column(String(100))
    # Size of the stored file (images are re-encoded without their metadata).
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    # Null only for videos stored while ffprobe was unavailable.
    width: Mapped[int | None] = mapped_column(Integer, default=None)
    height: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    alt_text: Mapped[str] = mapped_column(String(MAX_ALT_TEXT), default="")
    original_filename: Mapped[str] = mapped_column(String(MAX_FILENAME), default="")
    # Shared by every item (in any workspace) with the same bytes; deleted with the last of them.
    storage_key: Mapped[str] = mapped_column(String(200), index=True)
    thumbnail_key: Mapped[str | None] = mapped_column(String(200), default=None)

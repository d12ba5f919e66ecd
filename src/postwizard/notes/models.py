"""A board of columns per workspace, holding Markdown notes that may become posts."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from postwizard.db.base import Base, CreatedAtMixin, FlexibleJSON, IdMixin, string_enum, utcnow


class ColumnStage(StrEnum):
    """The built-in meaning of a column; renaming keeps it, so notes still move on by themselves."""

    IDEA = "idea"
    DRAFTING = "drafting"
    SCHEDULED = "scheduled"
    DONE = "done"


class NoteColumn(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "note_column"
    # One column per stage, so creating the default board twice at once cannot duplicate it.
    __table_args__ = (
        UniqueConstraint("workspace_id", "stage", name="uq_note_column_workspace_id_stage"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    stage: Mapped[ColumnStage | None] = mapped_column(
        string_enum(ColumnStage, "note_column_stage", length=16), default=None
    )
    position: Mapped[int] = mapped_column(Integer)


class Note(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "note"
    __table_args__ = (Index("ix_note_column_id_position", "column_id", "position"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    # RESTRICT: a column is removed only when empty.
    column_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("note_column.id", ondelete="RESTRICT"))
    position: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(FlexibleJSON, default=list)
    links: Mapped[list[str]] = mapped_column(FlexibleJSON, default=list)
    media_ids: Mapped[list[str]] = mapped_column(FlexibleJSON, default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(FlexibleJSON, default=dict)
    # The post this note became; its state moves the note (scheduled, done).
    post_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("post.id", ondelete="SET NULL"), default=None, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

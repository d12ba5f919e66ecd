"""A workspace's caption settings (provider, brand voice) and its history of generations."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from postwizard.db.base import Base, CreatedAtMixin, FlexibleJSON, IdMixin, string_enum, utcnow


class ProviderChoice(StrEnum):
    """Which provider a workspace uses: the instance's (a model if POSTWIZARD_AI_BASE_URL is
    set, else the offline assistant), always the offline assistant, or its own model server."""

    INSTANCE = "instance"
    OFFLINE = "offline"
    OPENAI_COMPATIBLE = "openai_compatible"


class CaptionAction(StrEnum):
    GENERATE = "generate"
    REWRITE = "rewrite"
    ADAPT = "adapt"
    HASHTAGS = "hashtags"
    TRANSLATE = "translate"
    ALT_TEXT = "alt_text"


class CaptionSettings(Base):
    """One row per workspace that changed the defaults."""

    __tablename__ = "caption_settings"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[ProviderChoice] = mapped_column(
        string_enum(ProviderChoice, "caption_provider"), default=ProviderChoice.INSTANCE
    )
    base_url: Mapped[str | None] = mapped_column(String(500), default=None)
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    # Encrypted with the instance key like account credentials; never logged, never returned.
    api_key_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    accepts_images: Mapped[bool] = mapped_column(Boolean, default=False)
    # Brand voice: description, use_words, avoid_words, examples.
    voice: Mapped[dict[str, Any]] = mapped_column(FlexibleJSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CaptionGeneration(IdMixin, CreatedAtMixin, Base):
    """One request to a caption provider: what was asked, what came back, what was kept."""

    __tablename__ = "caption_generation"
    __table_args__ = (Index("ix_caption_generation_workspace_id_id", "workspace_id", "id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspace.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[CaptionAction] = mapped_column(string_enum(CaptionAction, "caption_action"))
    provider: Mapped[str] = mapped_column(String(32))
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    request: Mapped[dict[str, Any]] = mapped_column(FlexibleJSON, default=dict)
    # [{"text", "style", "versions": [{"network", "account_id", "text"}]}]
    variants: Mapped[list[dict[str, Any]]] = mapped_column(FlexibleJSON, default=list)
    kept_index: Mapped[int | None] = mapped_column(SmallInteger, default=None)
    edited_text: Mapped[str | None] = mapped_column(Text, default=None)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)

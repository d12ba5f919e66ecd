"""Media library bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from postwizard.api.schemas import RequestBody, ResponseBody
from postwizard.media.models import MAX_ALT_TEXT, MediaKind


class Media(ResponseBody):
    id: uuid.UUID
    kind: MediaKind
    mime_type: str
    size_bytes: int = Field(description="Size of the stored file (images are stored re-encoded).")
    width: int | None = Field(description="Pixels; null for a video stored without ffprobe.")
    height: int | None
    duration_seconds: float | None = Field(description="Videos only.")
    alt_text: str
    original_filename: str
    sha256: str = Field(description="SHA-256 of the uploaded bytes.")
    uploaded_by_id: uuid.UUID | None
    created_at: datetime
    url: str = Field(description="The file (needs membership of the workspace).")
    thumbnail_url: str | None = Field(description="A WebP preview at most 400 px wide or high.")
    warnings: list[str] = Field(
        default_factory=list, description="Things that limit this item, and how to fix them."
    )


class MediaUpdate(RequestBody):
    alt_text: str = Field(
        max_length=MAX_ALT_TEXT, description="Describe the picture for people who cannot see it."
    )

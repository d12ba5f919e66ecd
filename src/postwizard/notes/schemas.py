"""Notes board requests and answers."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, HttpUrl, field_validator

from postwizard.api.schemas import RequestBody, ResponseBody
from postwizard.notes.models import ColumnStage
from postwizard.posts.models import PostStatus

MAX_EXTRA_BYTES = 4096
MAX_TAGS = 20
MAX_TAG_LENGTH = 50


def clean_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    cleaned = list(dict.fromkeys(tag.strip() for tag in tags if tag.strip()))
    if any(len(tag) > MAX_TAG_LENGTH for tag in cleaned):
        raise ValueError(f"a tag is at most {MAX_TAG_LENGTH} characters")
    return cleaned


def check_extra(extra: dict[str, Any] | None) -> dict[str, Any] | None:
    if extra is not None and len(json.dumps(extra, separators=(",", ":"))) > MAX_EXTRA_BYTES:
        raise ValueError(f"extra fields take at most {MAX_EXTRA_BYTES} bytes as JSON")
    return extra


class Checklist(ResponseBody):
    done: int
    total: int


class NoteColumn(ResponseBody):
    id: uuid.UUID
    name: str
    stage: ColumnStage | None = Field(
        description="Built-in meaning: notes move to `scheduled`/`done` with their post."
    )
    position: int
    note_count: int


class NoteColumnCreate(RequestBody):
    name: str = Field(min_length=1, max_length=60)


class NoteColumnUpdate(RequestBody):
    name: str | None = Field(default=None, min_length=1, max_length=60)
    position: int | None = Field(default=None, ge=0, description="New index among the columns.")


class Note(ResponseBody):
    id: uuid.UUID
    column_id: uuid.UUID
    position: int
    title: str
    body: str
    tags: list[str]
    links: list[str]
    media_ids: list[uuid.UUID]
    extra: dict[str, Any]
    checklist: Checklist
    post_id: uuid.UUID | None
    post_status: PostStatus | None
    author_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class NoteCreate(RequestBody):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=100_000)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    links: list[HttpUrl] = Field(default_factory=list, max_length=20)
    media_ids: list[uuid.UUID] = Field(default_factory=list, max_length=20)
    extra: dict[str, Any] = Field(default_factory=dict)
    column_id: uuid.UUID | None = Field(default=None, description="Default: the idea column.")

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, tags: list[str] | None) -> list[str] | None:
        return clean_tags(tags)

    @field_validator("extra")
    @classmethod
    def _check_extra(cls, extra: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_extra(extra)


class NoteUpdate(RequestBody):
    """Only the fields sent change."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=100_000)
    tags: list[str] | None = Field(default=None, max_length=MAX_TAGS)
    links: list[HttpUrl] | None = Field(default=None, max_length=20)
    media_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)
    extra: dict[str, Any] | None = None

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, tags: list[str] | None) -> list[str] | None:
        return clean_tags(tags)

    @field_validator("extra")
    @classmethod
    def _check_extra(cls, extra: dict[str, Any] | None) -> dict[str, Any] | None:
        return check_extra(extra)


class NoteMove(RequestBody):
    column_id: uuid.UUID
    position: int = Field(ge=0, description="Index in the column; past the end means last.")


class TurnIntoPost(RequestBody):
    account_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=50, description="Accounts the draft targets."
    )


class NoteWithPost(ResponseBody):
    note: Note
    post_id: uuid.UUID

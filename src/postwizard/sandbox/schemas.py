"""Request and response bodies of the sandbox network's HTTP API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from postwizard.sandbox.faults import FaultConfig

MAX_TEXT_CODE_POINTS = 500
MAX_CLIENT_KEY_LENGTH = 100
MAX_MEDIA_ITEMS = 4
MAX_ALT_TEXT_LENGTH = 1_500
MAX_MEDIA_BYTES = 10 * 1024 * 1024
MAX_METRIC_IDS = 100
HANDLE_PATTERN = r"^[A-Za-z0-9_]{1,30}$"


class RequestBody(BaseModel):
    # Unknown fields are refused, so an adapter that sends the wrong field name finds out.
    model_config = ConfigDict(extra="forbid")


class AccountCreate(RequestBody):
    handle: str = Field(pattern=HANDLE_PATTERN, description="1-30 letters, digits or _.")
    display_name: str | None = Field(None, max_length=100)
    followers: int | None = Field(
        None, ge=0, le=100_000_000, description="Starting audience (default: fixed by handle)."
    )


class AccountView(BaseModel):
    id: str
    handle: str
    display_name: str
    followers: int
    following: int
    posts_count: int
    created_at: datetime


class AccountCreated(BaseModel):
    id: str
    handle: str
    display_name: str
    followers: int
    created_at: datetime
    token: str = Field(description="Send as `Authorization: Bearer <token>`; shown once.")


class TokenIssued(BaseModel):
    handle: str
    token: str


class MediaItem(RequestBody):
    url: str | None = Field(None, description="An http(s) URL the network fetches.")
    data_base64: str | None = Field(None, description="The file itself, base64-encoded.")
    alt: str | None = None


class PostCreate(RequestBody):
    # Lengths are checked by the endpoint, which answers with specific error codes.
    text: str
    client_key: str = Field(description="The publisher's marker, ≤ 100 characters.")
    reply_to: str | None = Field(None, description="Id of the post this one answers (threads).")
    media: list[MediaItem] = Field(default_factory=list)


class PostView(BaseModel):
    id: str
    url: str
    text: str
    client_key: str
    reply_to: str | None
    media_count: int
    created_at: datetime


class PostList(BaseModel):
    items: list[PostView]


class PostMetrics(BaseModel):
    id: str
    impressions: int
    likes: int
    reposts: int
    replies: int
    quotes: int
    collected_at: datetime


class MetricsList(BaseModel):
    items: list[PostMetrics]
    missing: list[str] = Field(description="Requested ids the network has no post for.")


class RecordEntryView(BaseModel):
    id: str
    handle: str
    client_key: str
    created_at: datetime


class DuplicateView(BaseModel):
    handle: str
    client_key: str
    post_ids: list[str]


class RecordView(BaseModel):
    accounts: int
    posts: int
    distinct_client_keys: int = Field(description="Distinct (account, client_key) pairs.")
    duplicates: list[str] = Field(description="Client keys posted more than once to an account.")
    duplicate_posts: list[DuplicateView]
    items: list[RecordEntryView]


class FaultStatus(FaultConfig):
    """The fault settings in force and what they have done so far."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    draws: int = Field(0, description="Post-creation requests that drew an outcome.")
    outcomes: dict[str, int] = Field(default_factory=dict)


class ErrorDetail(BaseModel):
    code: str
    message: str
    fields: list[dict[str, str]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail

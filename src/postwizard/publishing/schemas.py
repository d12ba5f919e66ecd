"""Deliveries, attempts and publishing health as the API shows them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field, HttpUrl

from postwizard.api.schemas import RequestBody, ResponseBody
from postwizard.platforms.networks import Network
from postwizard.publishing.models import AttemptOutcome, DeliveryState


class AttemptView(ResponseBody):
    number: int
    kind: str
    worker: str
    outcome: AttemptOutcome
    http_status: int | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None


class DeliveryView(ResponseBody):
    id: uuid.UUID
    post_id: uuid.UUID
    account_id: uuid.UUID
    account_name: str
    network: Network
    state: DeliveryState
    due_at: datetime
    next_attempt_at: datetime
    attempt_count: int
    remote_id: str | None
    remote_url: str | None
    last_error: str | None
    published_at: datetime | None
    attempts: list[AttemptView]
    can_retry: bool = Field(description="Failed or missed: the user may send it again.")
    can_mark_published: bool = Field(
        description="Failed with an outcome PostWizard could not confirm: the user may say it was published."
    )


class MarkPublished(RequestBody):
    url: HttpUrl | None = Field(
        None, description="The post's address on the network, if the person has it."
    )


class WorkerView(ResponseBody):
    worker: str
    hostname: str
    pid: int
    started_at: datetime
    seen_at: datetime
    in_flight: int
    alive: bool


class FailureView(ResponseBody):
    delivery_id: uuid.UUID
    post_id: uuid.UUID
    account_name: str
    state: DeliveryState
    last_error: str | None
    due_at: datetime


class PublishingHealth(ResponseBody):
    workers: list[WorkerView]
    queue_depth: int = Field(description="Deliveries waiting or in progress in this workspace.")
    due_not_started: int = Field(description="Due now or earlier but not yet taken by a worker.")
    oldest_due_seconds: float | None = Field(
        description="How late the most overdue waiting delivery is."
    )
    recent_failures: list[FailureView]
    alert: str | None = Field(description="Set when posts are due and no worker is alive.")

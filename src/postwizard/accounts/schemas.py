"""Social account and posting-slot bodies."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from pydantic import Field, field_validator

from postwizard.accounts.models import AccountStatus
from postwizard.api.schemas import RequestBody, ResponseBody
from postwizard.platforms.networks import Network

HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _check_timezone(value: str) -> str:
    from postwizard.scheduling.timezones import validate_timezone

    validate_timezone(value)  # raises ValueError with a suggestion
    return value


class Slot(RequestBody):
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday.")
    time: str = Field(description="Local time of day, HH:MM (24 h).", examples=["09:30"])

    @field_validator("time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not HH_MM.match(value):
            raise ValueError("use HH:MM on a 24-hour clock, e.g. 09:30")
        return value

    @property
    def minute_of_day(self) -> int:
        hours, minutes = self.time.split(":")
        return int(hours) * 60 + int(minutes)


class Account(ResponseBody):
    id: uuid.UUID
    network: Network
    display_name: str
    handle: str
    timezone: str
    status: AccountStatus
    status_reason: str | None
    limit_overrides: dict[str, Any]
    slots: list[Slot]
    created_at: datetime


class SandboxAccountCreate(RequestBody):
    """A sandbox account: try the whole loop without connecting a real network."""

    display_name: str = Field(min_length=1, max_length=200)
    handle: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    timezone: str = Field(default="UTC", max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _check_timezone(value)


class AccountUpdate(RequestBody):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    timezone: str | None = Field(default=None, max_length=64)
    slots: list[Slot] | None = Field(
        default=None, max_length=200, description="Replaces all slots."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)

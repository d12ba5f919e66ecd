"""Social account and posting-slot bodies."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

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
    """A sandbox account: try the whole loop without connecting a real network. The same as
    connecting the `sandbox` network with the form fields `handle` and `display_name`."""

    display_name: str = Field(min_length=1, max_length=200)
    handle: str = Field(min_length=1, max_length=100)
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


# --- Connecting ---------------------------------------------------------------------------

FormValue = Annotated[str, StringConstraints(max_length=4096)]
FormFields = Annotated[
    dict[Annotated[str, StringConstraints(max_length=64)], FormValue],
    Field(max_length=32, description="The network's `connect_fields`, by name."),
]


class AccountConnect(RequestBody):
    """What a person filled in to connect an account of a network."""

    fields: FormFields = Field(default_factory=dict)
    timezone: str | None = Field(
        default=None,
        max_length=64,
        description="The account's zone for posting slots; a new account defaults to UTC, a "
        "reconnected one keeps its zone.",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_timezone(value)


class AccountReconnect(RequestBody):
    """New values for the network's connect form; a field left out keeps what PostWizard knows
    of the account (its handle, instance, ...), secrets (password fields) excepted."""

    fields: FormFields = Field(default_factory=dict)


class AuthorizeRedirect(ResponseBody):
    """Send the person to `authorize_url`; the network sends them back to PostWizard."""

    authorize_url: str


class NetworkConnectField(ResponseBody):
    name: str
    label: str
    kind: Literal["text", "password", "url"]
    help: str
    placeholder: str
    required: bool


class NetworkInfo(ResponseBody):
    """A network and how an account of it is connected."""

    id: Network
    label: str
    connect: Literal["form", "oauth", "unavailable"] = Field(
        description="`form`: POST the fields to connect; `oauth`: POST them to get an "
        "authorization address; `unavailable`: not in this version."
    )
    unavailable_reason: str | None
    connect_fields: list[NetworkConnectField]
    provides_metrics: bool | None = Field(
        description="Whether the network tells an account how its posts do (None: unavailable)."
    )
    max_text_length: int = Field(description="Characters a post may have (the network's count).")

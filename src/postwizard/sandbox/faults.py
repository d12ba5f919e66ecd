"""Fault injection: the ways a real network lets a publisher down, on purpose and repeatably.

Faults apply to post creation only (latency applies to every network API call). Every
post-creation request that gets past authentication, the account's rate limit and validation
draws one number from `random.Random(seed)`; the n-th such request after the faults were set
(at start-up or by `PUT /v1/_faults`) always draws the n-th number, so a run is repeatable
given the seed and the order requests arrive in. The number falls into one band:

    [0, error_rate)                       500 or 503 (half each); nothing stored
    next rate_limit_rate                  429 with Retry-After: 1; nothing stored
    next timeout_after_apply_rate         the post is stored and committed, then the answer
                                          waits `hang_seconds` (long past any client timeout)
    next reset_rate                       the post is stored and committed, then the connection
                                          is closed without a single byte of response
    the rest                              the post is stored and 201 is answered

How a reset is done: ASGI has no "abort" message, so `DropConnection` sends an
`http.response.start` whose header name contains a space. Uvicorn (h11 and httptools alike)
marks the response as started, then refuses to put that header on the wire and raises before
writing anything. `DropConnection` swallows that and returns, and uvicorn, holding a started
but unfinished response, closes the socket ("ASGI callable returned without completing
response." is its one log line). No exception travels through the middleware, so a host app's
500 handler stays out of it when the sandbox is mounted. The client sees the connection end
without a response (httpx: RemoteProtocolError "Server disconnected without sending a
response"). A server that did accept the header never gets to send it: `ConnectionDropped` is
raised instead, which such a server answers however it answers exceptions.
"""

from __future__ import annotations

import random
from collections import Counter
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

# A space is not allowed in a header name, so no HTTP server can send this: see the module doc.
UNSENDABLE_HEADER_NAME = b"x-sandbox connection-reset"
SIMULATED_RETRY_AFTER_SECONDS = 1


class FaultConfig(BaseModel):
    """Which faults the sandbox injects into post creation, and how often (0..1 each)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(0, description="Seed of the fault draws; the same seed repeats a run.")
    error_rate: float = Field(0.0, ge=0, le=1, description="Share answered 500/503, not stored.")
    rate_limit_rate: float = Field(
        0.0, ge=0, le=1, description="Share answered 429 (Retry-After: 1), not stored."
    )
    timeout_after_apply_rate: float = Field(
        0.0, ge=0, le=1, description="Share stored, then answered only after hang_seconds."
    )
    reset_rate: float = Field(
        0.0, ge=0, le=1, description="Share stored, then the connection is closed unanswered."
    )
    latency_ms: int = Field(
        0, ge=0, le=60_000, description="Added to every network API call, in milliseconds."
    )
    hang_seconds: float = Field(
        30.0, gt=0, le=3_600, description="How long a timeout-after-apply answer is held back."
    )

    @model_validator(mode="after")
    def _rates_fit_in_one(self) -> Self:
        total = self.error_rate + self.rate_limit_rate + self.timeout_after_apply_rate
        total += self.reset_rate
        if total > 1.0:
            raise ValueError(f"the fault rates add up to {total:g}; together they must be ≤ 1")
        return self


class Outcome(StrEnum):
    """What one post-creation request is going to experience."""

    APPLY = "apply"
    SERVER_ERROR = "server_error"
    UNAVAILABLE = "unavailable"
    RATE_LIMITED = "rate_limited"
    TIMEOUT_AFTER_APPLY = "timeout_after_apply"
    RESET_AFTER_APPLY = "reset_after_apply"

    @property
    def stores_post(self) -> bool:
        """Whether the post is created (and committed) before the answer goes wrong."""
        return self in {Outcome.APPLY, Outcome.TIMEOUT_AFTER_APPLY, Outcome.RESET_AFTER_APPLY}


class FaultInjector:
    """Draws one outcome per post-creation request from the configured fault rates."""

    def __init__(self, config: FaultConfig) -> None:
        self.configure(config)

    def configure(self, config: FaultConfig) -> None:
        """Use `config` from now on; the draws start again from the first one of its seed."""
        self.config = config
        self._random = random.Random(config.seed)  # noqa: S311 - repeatable simulation
        self.outcomes: Counter[Outcome] = Counter()

    @property
    def draws(self) -> int:
        """How many post-creation requests drew an outcome since the faults were set."""
        return sum(self.outcomes.values())

    def draw(self) -> Outcome:
        config = self.config
        # Exactly one number per request, so request n's fate depends on the seed and n only.
        number = self._random.random()
        outcome = Outcome.APPLY
        bands = (
            (config.error_rate / 2, Outcome.SERVER_ERROR),
            (config.error_rate / 2, Outcome.UNAVAILABLE),
            (config.rate_limit_rate, Outcome.RATE_LIMITED),
            (config.timeout_after_apply_rate, Outcome.TIMEOUT_AFTER_APPLY),
            (config.reset_rate, Outcome.RESET_AFTER_APPLY),
        )
        upper = 0.0
        for width, candidate in bands:
            upper += width
            if number < upper:
                outcome = candidate
                break
        self.outcomes[outcome] += 1
        return outcome


class ConnectionDropped(Exception):
    """Raised on purpose so that the server closes the socket without answering."""


class DropConnection(Response):
    """A "response" that makes the server close the connection without writing anything.

    See the module docstring for how; use it only after the post has been committed."""

    def __init__(self) -> None:
        super().__init__(status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [(UNSENDABLE_HEADER_NAME, b"1")],
                }
            )
        except Exception:
            # Refused before a byte was written (uvicorn): returning now makes the server close
            # the socket. Whatever else could fail here ends the connection just the same.
            return
        raise ConnectionDropped(
            "sandbox fault: connection reset on purpose after the post was stored"
        )

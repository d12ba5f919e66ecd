"""Challenge rules, as JSON: a count of matching published deliveries, or a metric threshold,
within the challenge's window. Validated by Pydantic, so a bad rule is a 422 naming the field."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, TypeAdapter

from postwizard.api.schemas import RequestBody
from postwizard.platforms.networks import Network


class DeliveryFilters(RequestBody):
    """Which published deliveries count; every given condition must hold."""

    networks: list[Network] = Field(
        default_factory=list, max_length=20, description="Any of these networks."
    )
    account_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=100, description="Any of these accounts."
    )
    has_media: bool | None = Field(default=None, description="True: with media; false: text only.")
    has_image: bool | None = Field(default=None, description="True: with at least one image.")
    label: str | None = Field(
        default=None, min_length=1, max_length=100, description="The post carries this label."
    )


class CountRule(RequestBody):
    """At least `target` distinct `distinct` among the matching published deliveries."""

    type: Literal["count"]
    target: int = Field(ge=1, le=10_000)
    distinct: Literal["delivery", "post", "day", "network", "account"] = Field(
        default="post", description="What is counted: `day` is a local day of the challenge."
    )
    filters: DeliveryFilters = Field(default_factory=DeliveryFilters)


class MetricRule(RequestBody):
    """The matching deliveries' `metric` (their current numbers) reaches `threshold` by the
    window's end."""

    type: Literal["metric"]
    metric: Literal["engagement_rate", "engagements", "impressions"]
    threshold: float = Field(ge=0, le=1e12)
    strictly_above: bool = Field(default=False, description="Beat the threshold, not just meet it.")
    filters: DeliveryFilters = Field(default_factory=DeliveryFilters)


Rule = Annotated[CountRule | MetricRule, Field(discriminator="type")]
RULE = TypeAdapter[CountRule | MetricRule](Rule)


def parse_rule(stored: object) -> CountRule | MetricRule:
    """A stored rule (validated when created) back as its model."""
    return RULE.validate_python(stored)

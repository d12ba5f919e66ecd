"""The networks PostWizard publishes to, how each counts text, and what each accepts in a post.

Pure code: no database, no HTTP. Adapters and the composer import from here. The composer's
counter, `limits.text_length(...)`, is not re-exported: `postwizard.platforms.text_length` is the
module with the counting rules, and one name cannot be both.
"""

from postwizard.platforms.limits import (
    NETWORK_LIMITS,
    OVERRIDE_KEYS,
    AspectRatioRange,
    LimitViolation,
    MediaFacts,
    MediaKind,
    NetworkLimits,
    TextLength,
    check,
    limits_for,
)
from postwizard.platforms.networks import Network
from postwizard.platforms.text_length import CountingRule, counting_rule, length

__all__ = [
    "NETWORK_LIMITS",
    "OVERRIDE_KEYS",
    "AspectRatioRange",
    "CountingRule",
    "LimitViolation",
    "MediaFacts",
    "MediaKind",
    "Network",
    "NetworkLimits",
    "TextLength",
    "check",
    "counting_rule",
    "length",
    "limits_for",
]

"""What can go wrong when asking for captions, each with a message a person can act on."""

from __future__ import annotations

from postwizard.errors import PostWizardError


class CaptionError(PostWizardError):
    """A caption request failed."""

    status_code = 502
    code = "caption_failed"


class ModelUnreachable(CaptionError):
    """The model server refused the connection, or is not there."""

    status_code = 502
    code = "model_unreachable"


class ModelTimeout(CaptionError):
    """The model server did not answer in time."""

    status_code = 504
    code = "model_timeout"


class ModelRefused(CaptionError):
    """The model server answered with an error (bad key, unknown model, rate limit, 5xx)."""

    status_code = 502
    code = "model_error"
    # True when the server rejected only `response_format` (no structured output there).
    schema_unsupported = False


class ModelOutputInvalid(CaptionError):
    """The model answered, but not with what was asked for (malformed JSON, no variants)."""

    status_code = 502
    code = "model_output_invalid"


class NotSupported(CaptionError):
    """The provider cannot do this (the offline assistant cannot translate)."""

    status_code = 422
    code = "not_supported"

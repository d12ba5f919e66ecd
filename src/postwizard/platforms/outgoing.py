"""What the network adapters do the same way with a `PublishRequest` before sending it: check
it against the network's limits, and open its files for streaming."""

from __future__ import annotations

from contextlib import ExitStack
from typing import IO

from postwizard.platforms.limits import LimitViolation, MediaFacts, check
from postwizard.platforms.networks import Network
from postwizard.platforms.protocol import MediaItem, PermanentError, PublishRequest


def media_facts(item: MediaItem) -> MediaFacts:
    """What the limits table checks of an attachment."""
    return MediaFacts(
        mime_type=item.mime_type,
        size_bytes=item.size_bytes,
        width=item.width,
        height=item.height,
        duration_seconds=item.duration_seconds,
    )


def violations(network: Network, request: PublishRequest) -> list[LimitViolation]:
    """Every limit of `network` that the request's text and attachments break."""
    return check(network, request.text, [media_facts(item) for item in request.media])


def check_request(network: Network, request: PublishRequest) -> None:
    """A `PermanentError` naming every limit of `network` the request breaks, all at once."""
    found = violations(network, request)
    if found:
        raise PermanentError(" ".join(violation.message for violation in found))


def open_media(files: ExitStack, item: MediaItem) -> IO[bytes]:
    """The file, opened for httpx to stream in chunks (never read whole) and closed with
    `files`."""
    try:
        return files.enter_context(item.path.open("rb"))
    except OSError as error:
        raise PermanentError(
            f"The attachment {item.filename} cannot be read from PostWizard's media store "
            f"({error.strerror}). Attach it again."
        ) from error

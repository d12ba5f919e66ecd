"""Receiving an upload: `multipart/form-data` with a `file` part and an optional `alt_text`,
streamed to a staging file while it arrives.

The type is sniffed from the first bytes of the file part, so its size limit is known at once:
an image larger than the image limit is refused as soon as it passes it, not after the whole
body (which may be as large as the video limit) has been read. Nothing is kept on refusal."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from postwizard.api import API_PREFIX
from postwizard.config import Settings
from postwizard.errors import PostWizardError
from postwizard.media.models import MAX_ALT_TEXT, MAX_FILENAME, MediaKind
from postwizard.media.validation import (
    SNIFF_BYTES,
    MediaTooLarge,
    Sniffed,
    UnsupportedMedia,
    megabytes,
    sniff,
)

if TYPE_CHECKING:  # the callbacks' TypedDict exists only for type checkers
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD = "file"
ALT_TEXT_FIELD = "alt_text"
# Room for the multipart framing and the alt text around the file itself.
MULTIPART_OVERHEAD = 64 * 1024
# The upload route, for the body-size middleware (which runs before routing).
UPLOAD_PATH = re.compile(rf"^{re.escape(API_PREFIX)}/workspaces/[^/]+/media/?$")
UNSAFE_FILENAME_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def upload_body_limit(settings: Settings) -> int:
    """The largest request body the upload route accepts (the larger media limit + framing)."""
    return max(settings.max_image_bytes, settings.max_video_bytes) + MULTIPART_OVERHEAD


def field_error(field_name: str, message: str, *, status: int = 422) -> PostWizardError:
    return PostWizardError(
        f"{field_name}: {message}.",
        code="validation_error",
        status_code=status,
        fields=[{"field": field_name, "message": message}],
    )


@dataclass(frozen=True)
class ReceivedUpload:
    path: Path  # the staged bytes, removed when the `receive_upload` block ends
    size: int
    sha256: str
    sniffed: Sniffed
    filename: str
    alt_text: str


@dataclass
class _Part:
    name: str = ""
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    header_name: bytes = b""
    header_value: bytes = b""


class _Receiver:
    """Turns parser callbacks into a staged file; limits are checked as bytes arrive."""

    def __init__(self, settings: Settings, declared_length: int | None, staging: BinaryIO) -> None:
        self.settings = settings
        self.declared_length = declared_length
        self.staging = staging
        self.part = _Part()
        self.pending: list[bytes] = []  # file bytes parsed from the current chunk
        self.head = b""
        self.sniffed: Sniffed | None = None
        self.size = 0
        self.digest = hashlib.sha256()
        self.file_seen = False
        self.filename = ""
        self.file_complete = False
        self.alt_text = bytearray()
        self.error: PostWizardError | None = None

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    # Callbacks run inside `parser.write`; errors are kept and raised after it returns.
    def _guard(self, action: Callable[[], None]) -> None:
        if self.error is None:
            try:
                action()
            except PostWizardError as error:
                self.error = error

    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.part.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.part.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.part.headers.append((self.part.header_name.lower(), self.part.header_value))
        self.part.header_name = self.part.header_value = b""

    def on_headers_finished(self) -> None:
        self._guard(self._start_part)

    def _start_part(self) -> None:
        disposition = next((v for k, v in self.part.headers if k == b"content-disposition"), b"")
        _, options = parse_options_header(disposition)
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        if self.part.name == FILE_FIELD:
            if self.file_seen:
                raise field_error(FILE_FIELD, "send one file per upload")
            self.file_seen = True
            self.filename = clean_filename(raw_filename or b"")
        elif self.part.name != ALT_TEXT_FIELD:
            raise field_error(self.part.name or "body", "unknown field; remove it")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        self._guard(lambda: self._take(chunk))

    def _take(self, chunk: bytes) -> None:
        if self.part.name == ALT_TEXT_FIELD:
            self.alt_text += chunk
            if len(self.alt_text) > MAX_ALT_TEXT * 4:  # UTF-8: at most 4 bytes a character
                raise field_error(ALT_TEXT_FIELD, f"at most {MAX_ALT_TEXT} characters")
            return
        self.size += len(chunk)
        if self.sniffed is None:
            self.head += chunk[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self._identify()
        if self.sniffed is not None:
            self._check_size(self.size)
        self.pending.append(chunk)

    def on_part_end(self) -> None:
        if self.part.name == FILE_FIELD:
            self._guard(self._end_file)

    def _end_file(self) -> None:
        if self.size == 0:
            raise field_error(FILE_FIELD, "the file is empty")
        if self.sniffed is None:
            self._identify()
        self.file_complete = True

    def _identify(self) -> None:
        self.sniffed = sniff(self.head)
        if self.declared_length is not None:
            # The whole body minus its framing: refuse before reading it when it cannot fit.
            self._check_size(self.declared_length - MULTIPART_OVERHEAD)

    def _check_size(self, size: int) -> None:
        assert self.sniffed is not None
        if self.sniffed.kind is MediaKind.IMAGE:
            limit, what = self.settings.max_image_bytes, "Images"
        else:
            limit, what = self.settings.max_video_bytes, "Videos"
        if size > limit:
            raise MediaTooLarge(
                f"{what} can be at most {megabytes(limit)} and this one is larger; "
                "compress or shorten it and upload it again."
            )

    def write_pending(self) -> None:
        """Hash and stage the file bytes parsed so far (called in a worker thread)."""
        for chunk in self.pending:
            self.digest.update(chunk)
            self.staging.write(chunk)
        self.pending.clear()


def clean_filename(raw: bytes) -> str:
    """The name without any folder part or control characters, for display only."""
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        name = raw.decode("latin-1")
    name = re.split(r"[\\/]", name)[-1]
    name = UNSAFE_FILENAME_CHARACTERS.sub("", name).strip()
    return name[:MAX_FILENAME]


def _declared_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    return int(value) if value is not None and value.isdigit() else None


@asynccontextmanager
async def receive_upload(
    request: Request, settings: Settings, staging_dir: Path
) -> AsyncIterator[ReceivedUpload]:
    """Stream the request's multipart body into a staging file under `staging_dir`."""
    content_type, options = parse_options_header(request.headers.get("content-type"))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMedia(
            "Send the upload as multipart/form-data with the file in a `file` field "
            "(and optionally `alt_text`)."
        )
    await asyncio.to_thread(staging_dir.mkdir, parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=staging_dir, prefix="upload-", suffix=".part")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as staging:
            receiver = _Receiver(settings, _declared_length(request), staging)
            try:
                parser = MultipartParser(boundary, receiver.callbacks())
                async for chunk in request.stream():
                    parser.write(chunk)
                    if receiver.error is not None:
                        raise receiver.error
                    if receiver.pending:
                        await asyncio.to_thread(receiver.write_pending)
                parser.finalize()
            except FormParserError as error:
                raise PostWizardError(
                    f"The upload is not valid multipart/form-data ({error}).",
                    code="invalid_multipart",
                ) from None
        if not receiver.file_seen:
            raise field_error(FILE_FIELD, "required: the image or video to upload")
        if not receiver.file_complete:
            raise PostWizardError(
                "The upload ended before the file did; try again.", code="incomplete_upload"
            )
        assert receiver.sniffed is not None
        try:
            alt_text = receiver.alt_text.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise field_error(ALT_TEXT_FIELD, "not valid UTF-8 text") from None
        if len(alt_text) > MAX_ALT_TEXT:
            raise field_error(ALT_TEXT_FIELD, f"at most {MAX_ALT_TEXT} characters")
        yield ReceivedUpload(
            path=path,
            size=receiver.size,
            sha256=receiver.digest.hexdigest(),
            sniffed=receiver.sniffed,
            filename=receiver.filename or "upload",
            alt_text=alt_text,
        )
    finally:
        await asyncio.to_thread(path.unlink, missing_ok=True)

"""Where media bytes live: a small interface, and the local-disk backend (an S3-compatible
one can implement the same interface later).

Keys are content addresses, `ab/cd/<sha256>.<ext>`: the same upload always maps to the same
key, so a file is written once however many workspaces hold it."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

# Keys are made by `media_key`/`thumbnail_key` only; anything else is refused, so a key can
# never name a file outside the storage root.
VALID_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}(\.thumb)?\.[a-z0-9]{2,5}$")


def media_key(sha256: str, extension: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.{extension}"


def thumbnail_key(sha256: str, extension: str) -> str:
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}.thumb.{extension}"


class MediaStorage(Protocol):
    """Stores immutable blobs by key."""

    async def put(self, key: str, data: bytes | Path) -> None:
        """Store `data` (the bytes, or the file at that path) under `key`, atomically."""

    async def read(self, key: str) -> bytes:
        """The stored bytes; `FileNotFoundError` when there are none."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove the blob; no error when it is already gone."""

    def local_path(self, key: str) -> Path | None:
        """A path on this machine to serve the blob from, or None (then `url` or `read`)."""

    def url(self, key: str) -> str | None:
        """A URL the client may fetch the blob from directly (e.g. presigned), or None."""


class LocalStorage:
    """Files under `root` (the data dir's `media/`), written to a temporary file and renamed
    into place, so a reader never sees half a file."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not VALID_KEY.fullmatch(key):
            raise ValueError(f"not a media storage key: {key!r}")
        return self.root / key

    async def put(self, key: str, data: bytes | Path) -> None:
        await asyncio.to_thread(self._put, self._path(key), data)

    @staticmethod
    def _put(target: Path, data: bytes | Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                if isinstance(data, Path):
                    with data.open("rb") as source:
                        shutil.copyfileobj(source, handle, 1024 * 1024)
                else:
                    handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def read(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def url(self, key: str) -> str | None:
        return None

"""`postwizard backup` and `postwizard restore`: the database and the media in one archive.

The archive is a tar.gz holding
- `database.sqlite3` (SQLite's online backup API: a consistent copy while PostWizard runs) or
  `database.pgdump` (`pg_dump --format=custom`, taken in the same snapshot the rows are counted in),
- `media/<storage key>` for every stored media file,
- `manifest.json`, written last: PostWizard's version, the schema revision, the row count of every
  table, the SHA-256 of every other member, a fingerprint of the instance secret key (never the
  key itself) and when it was made.

A restore goes into an empty instance only, checks every checksum and the row counts before it
touches anything it cannot undo, and migrates the schema forward when the backup is older.
Stored credentials are encrypted with the instance secret, so the instance restored into needs
the same key (the `secret_key` file or `POSTWIZARD_SECRET_KEY`); the fingerprint catches a
mismatch up front.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import URL, Connection, make_url

from postwizard import __version__
from postwizard.config import Settings
from postwizard.db.base import Base
from postwizard.errors import PostWizardError
from postwizard.media.storage import VALID_KEY

MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
MEDIA_PREFIX = "media/"
FORMAT_VERSION = 1
CHUNK = 1024 * 1024
PG_TOOLS_NOT_FOUND = (
    "{tool} not found: install PostgreSQL's client tools (Debian: apt install postgresql-client) "
    "in a version at least as new as the server"
)
_FINGERPRINT_PURPOSE = b"postwizard/backup-key-fingerprint/v1"

Progress = Callable[[int], None]
"""Called with the number of media bytes just handled."""


# --- Helpers -------------------------------------------------------------------------------------


def key_fingerprint(secret_key: str) -> str:
    """Identifies the instance secret without revealing it (HKDF for this purpose only)."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=16, salt=None, info=_FINGERPRINT_PURPOSE
    ).derive(secret_key.encode())
    return base64.b16encode(derived).decode().lower()


def media_root(settings: Settings) -> Path:
    return settings.data_dir / "media"


def media_files(root: Path) -> list[tuple[str, Path]]:
    """Every stored media file as (storage key, path), in a stable order."""
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_file() and VALID_KEY.fullmatch(key):
            found.append((key, path))
    return found


def count_rows(connection: Connection) -> dict[str, int]:
    """Rows in each of PostWizard's tables that exists here."""
    import postwizard.db.models  # noqa: F401 - every table registered on the metadata

    present = set(inspect(connection).get_table_names())
    return {
        table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
        for table in Base.metadata.sorted_tables
        if table.name in present
    }


def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise PostWizardError("An in-memory SQLite database cannot be backed up or restored.")
    return Path(url.database)


class _HashingReader:
    """A file wrapper that hashes (and reports) what tarfile reads through it."""

    def __init__(self, handle: IO[bytes], progress: Progress | None) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.digest.update(chunk)
        if self.progress is not None:
            self.progress(len(chunk))
        return chunk


def _add_file(
    archive: tarfile.TarFile, name: str, path: Path, progress: Progress | None = None
) -> str:
    info = tarfile.TarInfo(name)
    info.size = path.stat().st_size
    info.mode = 0o600
    info.mtime = int(path.stat().st_mtime)
    with path.open("rb") as handle:
        reader = _HashingReader(handle, progress)
        archive.addfile(info, reader)
    return reader.digest.hexdigest()


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    import io

    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


# --- PostgreSQL tools ----------------------------------------------------------------------------


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def find_pg_tool(name: str) -> str:
    """pg_dump / pg_restore, found as the test services find PostgreSQL: pg_config's bindir,
    else Debian's newest /usr/lib/postgresql/<version>/bin, else PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        answer = subprocess.run(  # noqa: S603 - a tool found on PATH, fixed arguments
            [pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=30
        )
        if answer.returncode == 0 and answer.stdout.strip():
            candidates.append(Path(answer.stdout.strip()))
    candidates.extend(
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    )
    for bindir in candidates:
        if os.access(bindir / name, os.X_OK):
            return str(bindir / name)
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise PostWizardError(PG_TOOLS_NOT_FOUND.format(tool=name))


def libpq_environment(url: URL) -> dict[str, str]:
    """Connection settings for pg_dump/pg_restore as PG* variables: the password never shows on
    a command line."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    mapping = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    env.update({key: value for key, value in mapping.items() if value})
    ssl = url.query.get("sslmode") or url.query.get("ssl")
    if isinstance(ssl, str):
        env["PGSSLMODE"] = {"true": "require", "false": "disable"}.get(ssl, ssl)
    return env


def _run_tool(argv: list[str], env: dict[str, str]) -> None:
    answer = subprocess.run(  # noqa: S603 - our pg tool, our arguments; no shell
        argv, capture_output=True, text=True, env=env, check=False
    )
    if answer.returncode != 0:
        tool = Path(argv[0]).name
        raise PostWizardError(f"{tool} failed ({answer.returncode}): {answer.stderr.strip()}")


# --- Backup --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict[str, Any]


async def _dump_postgres(database_url: str, target: Path) -> tuple[str | None, dict[str, int]]:
    """pg_dump in the snapshot the schema revision and the row counts are read in."""
    from alembic.runtime.migration import MigrationContext

    from postwizard.db.engine import create_engine

    pg_dump = find_pg_tool("pg_dump")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="REPEATABLE READ")
            async with connection.begin():
                snapshot = (await connection.execute(text("SELECT pg_export_snapshot()"))).scalar()
                env = libpq_environment(make_url(database_url))
                argv = [
                    pg_dump,
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    f"--file={target}",
                ]
                await asyncio.to_thread(_run_tool, argv, env)
                revision = await connection.run_sync(
                    lambda sync: MigrationContext.configure(sync).get_current_revision()
                )
                counts = await connection.run_sync(count_rows)
    finally:
        await engine.dispose()
    return revision, counts


def _dump_sqlite(path: Path, target: Path) -> tuple[str | None, dict[str, int]]:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    if not path.exists():
        raise PostWizardError(f"No database at {path}: nothing to back up.")
    source = sqlite3.connect(path)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # consistent even while other processes write
    finally:
        source.close()
        copy.close()
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
            counts = count_rows(connection)
    finally:
        engine.dispose()
    return revision, counts


def default_output() -> Path:
    return Path(f"postwizard-backup-{datetime.now(UTC):%Y%m%d-%H%M%S}.tar.gz")


def media_size(settings: Settings) -> int:
    return sum(path.stat().st_size for _key, path in media_files(media_root(settings)))


def create_backup(
    settings: Settings, output: Path, progress: Progress | None = None
) -> BackupResult:
    url = make_url(settings.effective_database_url)
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="postwizard-backup-") as scratch:
        scratch_dir = Path(scratch)
        if settings.is_sqlite:
            member = SQLITE_MEMBER
            dump = scratch_dir / member
            revision, counts = _dump_sqlite(sqlite_path(url), dump)
        else:
            member = POSTGRES_MEMBER
            dump = scratch_dir / member
            revision, counts = asyncio.run(_dump_postgres(settings.effective_database_url, dump))
        if revision is None:
            raise PostWizardError("The database was never migrated: nothing to back up.")
        # Written beside the output and renamed at the end: a half-written archive never has
        # the final name. Private: it holds password hashes and encrypted credentials.
        fd, partial_name = tempfile.mkstemp(prefix=".backup-", suffix=".part", dir=output.parent)
        os.close(fd)
        partial = Path(partial_name)
        try:
            checksums: dict[str, str] = {}
            media_count = 0
            media_bytes = 0
            with tarfile.open(partial, "w:gz") as archive:
                checksums[member] = _add_file(archive, member, dump)
                for key, path in media_files(media_root(settings)):
                    checksums[MEDIA_PREFIX + key] = _add_file(
                        archive, MEDIA_PREFIX + key, path, progress
                    )
                    media_count += 1
                    media_bytes += path.stat().st_size
                manifest: dict[str, Any] = {
                    "format": FORMAT_VERSION,
                    "postwizard_version": __version__,
                    "created_at": datetime.now(UTC).isoformat(),
                    "database": "sqlite" if settings.is_sqlite else "postgresql",
                    "schema_revision": revision,
                    "counts": counts,
                    "media": {"files": media_count, "bytes": media_bytes},
                    "secret_key_fingerprint": key_fingerprint(settings.resolved_secret_key()),
                    "members": checksums,
                }
                _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
            os.replace(partial, output)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return BackupResult(output, manifest)


# --- Restore -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict[str, Any]
    migrated_from: str
    migrated_to: str | None


def _member_kind(name: str) -> str:
    if name in (MANIFEST, SQLITE_MEMBER, POSTGRES_MEMBER):
        return name
    if name.startswith(MEDIA_PREFIX) and VALID_KEY.fullmatch(name.removeprefix(MEDIA_PREFIX)):
        return MEDIA_PREFIX
    raise PostWizardError(f"Not a PostWizard backup: unexpected member {name!r}.")


def unpack(archive_path: Path, staging: Path, progress: Progress | None = None) -> dict[str, Any]:
    """Extract into `staging` (names checked, no links, no paths outside), then check every
    checksum against the manifest; returns the manifest."""
    digests: dict[str, str] = {}
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            for info in archive:
                kind = _member_kind(info.name)
                if not info.isfile():
                    raise PostWizardError(f"Not a PostWizard backup: {info.name!r} is not a file.")
                source = archive.extractfile(info)
                if source is None:  # pragma: no cover - regular files always have content
                    raise PostWizardError(f"Cannot read {info.name!r} from the archive.")
                target = staging / info.name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                with target.open("wb") as sink:
                    while chunk := source.read(CHUNK):
                        digest.update(chunk)
                        sink.write(chunk)
                        if progress is not None and kind == MEDIA_PREFIX:
                            progress(len(chunk))
                digests[info.name] = digest.hexdigest()
    except (tarfile.TarError, EOFError, OSError) as error:
        raise PostWizardError(f"{archive_path} is damaged or not a backup: {error}") from None
    if MANIFEST not in digests:
        raise PostWizardError(
            f"{archive_path} has no {MANIFEST}: not a complete PostWizard backup."
        )
    manifest: dict[str, Any] = json.loads((staging / MANIFEST).read_text())
    if manifest.get("format") != FORMAT_VERSION:
        raise PostWizardError(f"Unknown backup format {manifest.get('format')!r}.")
    expected: dict[str, str] = manifest["members"]
    found = {name: sha for name, sha in digests.items() if name != MANIFEST}
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    wrong = sorted(name for name in expected if name in found and found[name] != expected[name])
    if missing or extra or wrong:
        raise PostWizardError(
            "The backup does not match its manifest: "
            + "; ".join(
                f"{label}: {', '.join(names[:5])}"
                for label, names in (
                    ("missing", missing),
                    ("unexpected", extra),
                    ("checksum mismatch", wrong),
                )
                if names
            )
        )
    return manifest


def _nonempty_tables(connection: Connection) -> list[str]:
    return [name for name, rows in count_rows(connection).items() if rows]


def _check_revision_known(revision: str) -> None:
    from alembic.script import ScriptDirectory

    from postwizard.db.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        known = scripts.get_revision(revision)
    except Exception:
        known = None
    if known is None:
        raise PostWizardError(
            f"The backup's schema revision {revision} is unknown to PostWizard {__version__}: "
            "it was made by a newer version. Restore it with that version or newer."
        )


def _refuse_nonempty_media(settings: Settings) -> None:
    if media_files(media_root(settings)):
        raise PostWizardError(
            f"{media_root(settings)} already holds media files: restore only into an empty "
            "instance (a new data dir)."
        )


def _restore_sqlite(settings: Settings, dump: Path, expected: dict[str, int]) -> None:
    from sqlalchemy import create_engine

    path = sqlite_path(make_url(settings.effective_database_url))
    if path.exists():
        engine = create_engine(f"sqlite:///{path}")
        try:
            with engine.connect() as connection:
                used = _nonempty_tables(connection)
        finally:
            engine.dispose()
        if used:
            raise PostWizardError(
                f"The database at {path} is not empty (rows in {', '.join(used[:5])}): restore only "
                "into an empty instance (a new data dir)."
            )
    _check_counts(dump_counts_sqlite(dump), expected)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.move(dump, path)
    os.chmod(path, 0o600)


def dump_counts_sqlite(dump: Path) -> dict[str, int]:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{dump}")
    try:
        with engine.connect() as connection:
            return count_rows(connection)
    finally:
        engine.dispose()


def _check_counts(found: dict[str, int], expected: dict[str, int]) -> None:
    differing = sorted(name for name in expected if found.get(name) != expected[name])
    if differing:
        detail = ", ".join(f"{name} {found.get(name)} ≠ {expected[name]}" for name in differing[:5])
        raise PostWizardError(f"Restored row counts differ from the manifest: {detail}.")


async def _restore_postgres(database_url: str, dump: Path, expected: dict[str, int]) -> None:
    from postwizard.db.engine import create_engine

    pg_restore = find_pg_tool("pg_restore")
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            used = await connection.run_sync(_nonempty_tables)
        if used:
            raise PostWizardError(
                f"The database is not empty (rows in {', '.join(used[:5])}): restore only into an "
                "empty database (create a new one, or drop and create it again)."
            )
        argv = [
            pg_restore,
            "--clean",  # drops the empty tables a `migrate` may have made
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={make_url(database_url).database}",
            str(dump),
        ]
        await asyncio.to_thread(_run_tool, argv, libpq_environment(make_url(database_url)))
        async with engine.connect() as connection:
            found = await connection.run_sync(count_rows)
        _check_counts(found, expected)
    finally:
        await engine.dispose()


def restore_backup(
    settings: Settings,
    archive_path: Path,
    *,
    allow_other_key: bool = False,
    progress: Progress | None = None,
) -> RestoreResult:
    from postwizard.db.migrate import head_revision, upgrade_to_head

    _refuse_nonempty_media(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with staging_dir(settings.data_dir) as staging:
        manifest = unpack(archive_path, staging, progress)
        database = "sqlite" if settings.is_sqlite else "postgresql"
        if manifest["database"] != database:
            raise PostWizardError(
                f"This backup is of a {manifest['database']} database; this instance uses {database}. "
                "Restore it into an instance on the same database."
            )
        revision: str = manifest["schema_revision"]
        _check_revision_known(revision)
        if (
            key_fingerprint(settings.resolved_secret_key()) != manifest["secret_key_fingerprint"]
            and not allow_other_key
        ):
            raise PostWizardError(
                "This instance's secret key is not the one the backup was made with, so stored "
                "account credentials would not decrypt. Copy the old instance's `secret_key` file "
                "into the data dir (or set POSTWIZARD_SECRET_KEY to it) and try again; or pass "
                "--allow-other-key and reconnect every account afterwards."
            )
        counts: dict[str, int] = manifest["counts"]
        if settings.is_sqlite:
            _restore_sqlite(settings, staging / SQLITE_MEMBER, counts)
        else:
            asyncio.run(
                _restore_postgres(
                    settings.effective_database_url, staging / POSTGRES_MEMBER, counts
                )
            )
        upgrade_to_head(settings.effective_database_url)
        root = media_root(settings)
        for name in manifest["members"]:
            if name.startswith(MEDIA_PREFIX):
                target = root / name.removeprefix(MEDIA_PREFIX)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / name, target)
    return RestoreResult(manifest, revision, head_revision())


@contextmanager
def staging_dir(data_dir: Path) -> Iterator[Path]:
    """A private directory inside the data dir (same filesystem: files are moved, not copied)."""
    path = Path(tempfile.mkdtemp(prefix=".restore-", dir=data_dir))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)

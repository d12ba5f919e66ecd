"""`postwizard backup` / `postwizard restore`, run as a person would, on SQLite and PostgreSQL:
everything comes back (rows, media bytes, credentials that still decrypt), and a restore
refuses what it must refuse."""

from __future__ import annotations

import itertools
import json
import stat
import tarfile
import uuid
from pathlib import Path

from alembic import command
from fastapi import FastAPI

from postwizard.api.resources import resources_of
from postwizard.config import Settings
from postwizard.db.migrate import alembic_config, head_revision
from tests.api_client import ApiClient
from tests.conftest import TEST_SECRET
from tests.ops_data import (
    BOT_TOKEN,
    MODEL_API_KEY,
    dump_database,
    instance_env,
    populate,
    run_cli,
    stored_secrets,
)
from tests.support.services import PostgresServer

_restore_databases = itertools.count()


def restore_target(request_url: str, tmp_path: Path, postgres: PostgresServer | None) -> str:
    """An empty database of the same kind as `request_url` (SQLite: none yet, in the data dir)."""
    if request_url.startswith("sqlite"):
        return f"sqlite+aiosqlite:///{tmp_path / 'restored' / 'postwizard.db'}"
    assert postgres is not None
    name = f"pw_restore_{next(_restore_databases)}_{uuid.uuid4().hex[:6]}"
    postgres.create_database(name)  # empty: no tables at all
    return postgres.url(name)


def media_tree(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


async def test_backup_and_restore_round_trip(
    both_app: FastAPI,
    both_client: ApiClient,
    database_url: str,
    tmp_path: Path,
    request: object,
) -> None:
    await populate(both_app, both_client)
    settings: Settings = resources_of(both_app).settings
    source_env = instance_env(settings.data_dir, database_url, TEST_SECRET)
    archive = tmp_path / "backups" / "nightly.tar.gz"

    made = run_cli("backup", "--output", str(archive), env=source_env)
    assert made.returncode == 0, made.stderr
    assert "Backup written" in made.stdout
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive, "r:gz") as opened:
        names = opened.getnames()
        manifest_file = opened.extractfile("manifest.json")
        assert manifest_file is not None
        manifest = json.loads(manifest_file.read())
    assert manifest["schema_revision"] == head_revision()
    assert manifest["counts"]["post"] == 1
    assert manifest["counts"]["social_account"] == 2
    assert manifest["counts"]["account_stats_snapshot"] == 2
    assert manifest["counts"]["post_metric_snapshot"] == 1
    assert manifest["media"]["files"] >= 1
    assert set(manifest["members"]) == set(names) - {"manifest.json"}
    assert TEST_SECRET not in archive.read_bytes().decode("latin-1")

    postgres = (
        None if database_url.startswith("sqlite") else request.getfixturevalue("postgres_server")  # type: ignore[attr-defined]
    )
    target_url = restore_target(database_url, tmp_path, postgres)
    target_dir = tmp_path / "restored"

    other_key = run_cli(
        "restore", str(archive), env=instance_env(target_dir, target_url, "another-key-" + "k" * 32)
    )
    assert other_key.returncode == 1
    assert "secret key is not the one the backup was made with" in other_key.stderr
    assert not (target_dir / "media").exists()

    target_env = instance_env(target_dir, target_url, TEST_SECRET)
    restored = run_cli("restore", str(archive), env=target_env)
    assert restored.returncode == 0, restored.stderr
    assert "checksums verified" in restored.stdout

    assert await dump_database(target_url) == await dump_database(database_url)
    assert media_tree(target_dir / "media") == media_tree(settings.data_dir / "media")
    assert await stored_secrets(target_url, TEST_SECRET) == (
        {"bot_token": BOT_TOKEN},
        MODEL_API_KEY,
    )

    again = run_cli("restore", str(archive), env=target_env)
    assert again.returncode == 1
    assert "empty instance" in again.stderr


def test_restore_refuses_a_tampered_archive(tmp_path: Path) -> None:
    source = tmp_path / "source"
    env = {"POSTWIZARD_DATA_DIR": str(source), "POSTWIZARD_SECRET_KEY": TEST_SECRET}
    assert run_cli("migrate", env=env).returncode == 0
    archive = tmp_path / "b.tar.gz"
    assert run_cli("backup", "-o", str(archive), env=env).returncode == 0
    tampered = tmp_path / "tampered.tar.gz"
    with tarfile.open(archive, "r:gz") as original, tarfile.open(tampered, "w:gz") as copy:
        for info in original:
            data = original.extractfile(info)
            assert data is not None
            body = data.read()
            if info.name == "database.sqlite3":
                body = body[:-1] + bytes([body[-1] ^ 1])
            info.size = len(body)
            import io

            copy.addfile(info, io.BytesIO(body))
    target = {"POSTWIZARD_DATA_DIR": str(tmp_path / "target"), "POSTWIZARD_SECRET_KEY": TEST_SECRET}
    refused = run_cli("restore", str(tampered), env=target)
    assert refused.returncode == 1
    assert "checksum mismatch: database.sqlite3" in refused.stderr
    assert not (tmp_path / "target" / "postwizard.db").exists()
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive")
    assert "not a backup" in run_cli("restore", str(garbage), env=target).stderr


def test_an_older_backup_is_migrated_forward(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    url = f"sqlite+aiosqlite:///{source / 'postwizard.db'}"
    head = head_revision()
    assert head is not None
    older = f"{int(head) - 1:04d}"
    command.upgrade(alembic_config(url), older)
    env = {"POSTWIZARD_DATA_DIR": str(source), "POSTWIZARD_SECRET_KEY": TEST_SECRET}
    archive = tmp_path / "old.tar.gz"
    made = run_cli("backup", "-o", str(archive), env=env)
    assert made.returncode == 0, made.stderr
    target = {"POSTWIZARD_DATA_DIR": str(tmp_path / "target"), "POSTWIZARD_SECRET_KEY": TEST_SECRET}
    restored = run_cli("restore", str(archive), env=target)
    assert restored.returncode == 0, restored.stderr
    assert f"migrated {older} → {head}" in restored.stdout
    doctor = run_cli("doctor", env=target)
    assert f"schema at {head}" in doctor.stdout

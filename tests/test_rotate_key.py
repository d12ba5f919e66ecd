"""`postwizard rotate-key`: every stored credential is re-encrypted under the new key (and no
longer opens with the old one), the key file is replaced in place, and a rotation that cannot
read the stored credentials changes nothing."""

from __future__ import annotations

import stat
from collections.abc import Callable

import pytest

from postwizard.app import create_app
from postwizard.config import Settings
from postwizard.errors import PostWizardError
from tests.api_client import ApiClient
from tests.ops_data import BOT_TOKEN, MODEL_API_KEY, populate, run_cli, stored_secrets

EXPECTED = ({"bot_token": BOT_TOKEN}, MODEL_API_KEY)


async def populated_instance(settings: Settings) -> None:
    application = create_app(settings)
    async with (
        application.router.lifespan_context(application),
        ApiClient.for_app(application) as api,
    ):
        await populate(application, api)


async def test_rotation_with_the_data_dir_key_file(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    settings = make_settings(database_url=sqlite_url, secret_key="")
    await populated_instance(settings)
    key_file = settings.data_dir / "secret_key"
    old_key = key_file.read_text()
    env = {"POSTWIZARD_DATA_DIR": str(settings.data_dir), "POSTWIZARD_DATABASE_URL": sqlite_url}

    rotated = run_cli("rotate-key", env=env)
    assert rotated.returncode == 0, rotated.stderr
    assert "2 accounts and 1 workspace model API keys" in rotated.stdout.replace("\n", " ")
    new_key = key_file.read_text()
    assert new_key != old_key
    assert len(new_key) >= 32
    assert new_key not in rotated.stdout  # it went to the file, not to the terminal
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert sorted(p.name for p in settings.data_dir.iterdir() if "secret" in p.name) == [
        "secret_key"
    ]
    assert await stored_secrets(sqlite_url, new_key) == EXPECTED
    with pytest.raises(PostWizardError):
        await stored_secrets(sqlite_url, old_key)
    # The instance starts and reads its credentials with the new key.
    doctor = run_cli("doctor", env=env)
    assert doctor.returncode == 0, doctor.stdout


async def test_rotation_with_the_environment_variable(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> None:
    old_key = "the-old-instance-secret-" + "o" * 32
    new_key = "the-new-instance-secret-" + "n" * 32
    settings = make_settings(database_url=sqlite_url, secret_key=old_key)
    await populated_instance(settings)
    env = {
        "POSTWIZARD_DATA_DIR": str(settings.data_dir),
        "POSTWIZARD_DATABASE_URL": sqlite_url,
        "POSTWIZARD_SECRET_KEY": old_key,
    }

    too_short = run_cli("rotate-key", "--new-key", "short", env=env)
    assert too_short.returncode == 2
    assert "at least 32 characters" in too_short.stderr

    wrong_old = run_cli(
        "rotate-key",
        env={
            **env,
            "POSTWIZARD_SECRET_KEY": "not-the-key-" + "x" * 32,
            "POSTWIZARD_NEW_SECRET_KEY": new_key,
        },
    )
    assert wrong_old.returncode == 1
    assert "cannot be decrypted" in wrong_old.stderr
    assert await stored_secrets(sqlite_url, old_key) == EXPECTED  # nothing changed

    rotated = run_cli("rotate-key", env={**env, "POSTWIZARD_NEW_SECRET_KEY": new_key})
    assert rotated.returncode == 0, rotated.stderr
    assert "POSTWIZARD_SECRET_KEY" in rotated.stdout
    assert new_key not in rotated.stdout  # given by the person: not echoed back
    assert not (settings.data_dir / "secret_key").exists()
    assert await stored_secrets(sqlite_url, new_key) == EXPECTED
    with pytest.raises(PostWizardError):
        await stored_secrets(sqlite_url, old_key)

"""The `postwizard` command, run as a user would run it."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.server_process import POSTWIZARD, running_server
from tests.support.services import PostgresServer


def run_cli(
    *args: str, data_dir: Path, extra_env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "POSTWIZARD_DATA_DIR": str(data_dir),
        "COLUMNS": "200",
        **(extra_env or {}),
    }
    return subprocess.run(
        [POSTWIZARD, *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=60,
        check=False,
    )


def test_user_and_token_created_from_the_shell_work_over_http(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = run_cli(
        "user",
        "create",
        "--email",
        "Cli@Example.com",
        "--name",
        "Cli",
        "--password",
        "cli-password-1",
        "--workspace",
        "Shell Co",
        data_dir=data,
    )
    assert created.returncode == 0, created.stderr
    assert "cli@example.com" in created.stdout
    token = run_cli(
        "token",
        "create",
        "--email",
        "cli@example.com",
        "--name",
        "script",
        "--quiet",
        data_dir=data,
    )
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    assert secret.startswith("pw_")
    assert "\n" not in secret

    with running_server(data) as server:
        me = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200
        assert me.json()["workspaces"][0]["name"] == "Shell Co"
        setup = httpx.get(f"{server.url}/api/v1/setup").json()
        assert setup == {"needs_setup": False}


def test_cli_reports_bad_input_clearly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    short = run_cli(
        "user",
        "create",
        "--email",
        "a@example.com",
        "--name",
        "A",
        "--password",
        "short",
        data_dir=data,
    )
    assert short.returncode == 2
    assert "password" in short.stderr
    assert "at least 10 characters" in short.stderr
    missing = run_cli("token", "create", "--email", "ghost@example.com", data_dir=data)
    run_cli("migrate", data_dir=data)
    missing = run_cli("token", "create", "--email", "ghost@example.com", data_dir=data)
    assert missing.returncode == 1
    assert "No user with email ghost@example.com" in missing.stderr
    twice = [
        run_cli(
            "user",
            "create",
            "--email",
            "b@example.com",
            "--name",
            "B",
            "--password",
            "b-password-123",
            data_dir=data,
        )
        for _ in range(2)
    ]
    assert twice[0].returncode == 0
    assert twice[1].returncode == 1
    assert "already exists" in twice[1].stderr


def test_placeholder_secret_key_is_refused(tmp_path: Path) -> None:
    result = run_cli("doctor", data_dir=tmp_path, extra_env={"POSTWIZARD_SECRET_KEY": "changeme"})
    assert result.returncode == 2
    assert "POSTWIZARD_SECRET_KEY" in result.stderr
    assert "placeholder" in result.stderr


def test_serve_generates_a_private_secret_key_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(data):
        key_file = data / "secret_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        first = key_file.read_text()
    with running_server(data):
        assert key_file.read_text() == first
    assert len(first) >= 32


def test_doctor_masks_secrets_and_checks_dependencies(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    postgres_server.create_database("doctor_check")
    url = (
        postgres_server.url("doctor_check").replace("@", ":hunter2-secret@", 1)
        if "@" in postgres_server.url("doctor_check")
        else postgres_server.url("doctor_check")
    )
    env = {
        "POSTWIZARD_DATABASE_URL": postgres_server.url("doctor_check"),
        "POSTWIZARD_SECRET_KEY": "k" * 40,
    }
    before = run_cli("doctor", data_dir=tmp_path, extra_env=env)
    assert before.returncode == 1
    assert "run `postwizard migrate`" in before.stdout
    migrated = run_cli("migrate", data_dir=tmp_path, extra_env=env)
    assert migrated.returncode == 0, migrated.stderr
    after = run_cli("doctor", data_dir=tmp_path, extra_env=env)
    assert after.returncode == 0, after.stdout
    assert "reachable, schema at" in after.stdout
    assert "k" * 40 not in after.stdout
    masked = run_cli("doctor", data_dir=tmp_path, extra_env={**env, "POSTWIZARD_DATABASE_URL": url})
    assert "hunter2-secret" not in masked.stdout


def test_worker_runs_until_told_to_stop(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "POSTWIZARD_DATA_DIR": str(tmp_path / "data"),
        "POSTWIZARD_LOG_FORMAT": "json",
    }
    worker = subprocess.Popen(
        [POSTWIZARD, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert worker.stdout is not None
        started = ""
        deadline = time.monotonic() + 30
        while "dispatcher started" not in started and time.monotonic() < deadline:
            started += worker.stdout.readline()
        assert "dispatcher started" in started
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0
    finally:
        if worker.poll() is None:
            worker.kill()


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["serve"],
        ["user", "create"],
        ["token", "create"],
        ["migrate"],
        ["doctor"],
        ["worker"],
        ["sandbox"],
        ["import"],
    ],
)
def test_every_command_has_help(command: list[str], tmp_path: Path) -> None:
    result = run_cli(*command, "--help", data_dir=tmp_path)
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_openapi_command_prints_the_spec(tmp_path: Path) -> None:
    result = run_cli("openapi", data_dir=tmp_path)
    spec = json.loads(result.stdout)
    assert "/api/v1/me" in spec["paths"]

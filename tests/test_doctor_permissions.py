"""`postwizard doctor` warns when the data dir or the secret key file is open to others."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.ops_data import run_cli


def test_doctor_warns_about_loose_permissions(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"POSTWIZARD_DATA_DIR": str(data), "COLUMNS": "500"}  # one line per check
    assert run_cli("migrate", env=env).returncode == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700  # created private
    key = data / "secret_key"
    key.write_text("k" * 48)
    key.chmod(0o600)

    private = run_cli("doctor", env=env)
    assert "data dir and secret key are private" in private.stdout

    data.chmod(0o755)
    key.chmod(0o640)
    loose = run_cli("doctor", env=env)
    assert loose.returncode == 0, loose.stdout  # a warning, not a failure
    for expected in (
        "world-accessible (mode 755)",
        "chmod 700",
        "group-accessible (mode 640)",
        "chmod 600",
    ):
        assert expected in loose.stdout

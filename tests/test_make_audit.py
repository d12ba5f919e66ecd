"""`make audit` needs the advisory databases online: without them it says so at once and fails,
rather than hanging or ending in a stack trace. It is not part of `make test`."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.services import free_port

ROOT = Path(__file__).parent.parent


def make_audit(*variables: str) -> tuple[subprocess.CompletedProcess[str], float]:
    make = shutil.which("make")
    assert make is not None, "make is needed for the project's own targets"
    started = time.monotonic()
    # -o: take the virtualenv as installed; this test is about the audit, not the setup.
    finished = subprocess.run(
        [make, "--no-print-directory", "-o", ".venv/bin/.installed", "audit", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return finished, time.monotonic() - started


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers, like a network that drops packets."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"


def test_offline_audit_fails_at_once_saying_it_needs_the_internet() -> None:
    closed = f"http://127.0.0.1:{free_port()}/"
    finished, took = make_audit(f"AUDIT_PYPI_URL={closed}", f"AUDIT_NPM_REGISTRY={closed}")
    assert finished.returncode != 0
    assert took < 20
    assert "needs internet access" in finished.stderr
    assert f"cannot reach {closed}" in finished.stderr
    # Neither tool was started.
    assert "pip-audit --skip-editable" not in finished.stdout
    assert "npm audit --omit=dev" not in finished.stdout


def test_an_unanswering_network_is_given_up_on_quickly(silent_server: str) -> None:
    finished, took = make_audit(
        f"AUDIT_PYPI_URL={silent_server}",
        f"AUDIT_NPM_REGISTRY={silent_server}",
        "AUDIT_PROBE_SECONDS=1",
    )
    assert finished.returncode != 0
    assert took < 20
    assert "no answer within 1 s" in finished.stderr
    assert "needs internet access" in finished.stderr


def test_audit_is_not_part_of_make_test() -> None:
    makefile = (ROOT / "Makefile").read_text()
    test_line = re.search(r"^test:(.*)$", makefile, flags=re.MULTILINE)
    assert test_line is not None
    assert "audit" not in test_line.group(1).split("##")[0]
    assert "not part of `make test`" in makefile

"""A real `postwizard serve` process on a free loopback port, for tests that need real HTTP
(Server-Sent Events, the browser)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.services import free_port

STARTUP_TIMEOUT_S = 30
POSTWIZARD = str(Path(sys.executable).with_name("postwizard"))


@dataclass
class ServerProcess:
    url: str
    data_dir: Path
    log_path: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running_server(data_dir: Path, **env: str) -> Iterator[ServerProcess]:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log_path = data_dir / "server.log"
    environment = {
        **os.environ,
        "POSTWIZARD_DATA_DIR": str(data_dir),
        "POSTWIZARD_LOG_FORMAT": "json",
        "POSTWIZARD_PUBLIC_URL": f"http://127.0.0.1:{port}",
        # The fake networks listen on loopback, which the SSRF guard refuses by default.
        "POSTWIZARD_PRIVATE_NETWORK_ALLOWLIST": "127.0.0.0/8,::1,localhost",
        **env,
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [POSTWIZARD, "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
        )
    server = ServerProcess(f"http://127.0.0.1:{port}", data_dir, log_path, process)
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_healthy(server: ServerProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"postwizard serve exited with {server.process.returncode}:\n{server.log()}"
            )
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"postwizard serve did not become healthy in {STARTUP_TIMEOUT_S} s:\n{server.log()}"
    )

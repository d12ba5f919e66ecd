"""Shared pieces of the benchmarks: results, server subprocesses, load runs, statistics."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
LOOPBACK_HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0


def _find_venv_bin() -> Path:
    # `make bench` runs this with the project's venv interpreter, whose scripts sit beside it
    # wherever the venv lives; the repo's .venv is the fallback for any other interpreter.
    beside_interpreter = Path(sys.executable).parent
    if (beside_interpreter / "postwizard").exists():
        return beside_interpreter
    return REPO_ROOT / ".venv" / "bin"


VENV_BIN = _find_venv_bin()

Row = dict[str, Any]


def row(metric: str, value: float | int | str, unit: str, note: str = "") -> Row:
    """One line of a result table: metric | value | unit | note."""
    return {"metric": metric, "value": value, "unit": unit, "note": note}


@dataclass
class BenchResult:
    name: str
    rows: list[Row] = field(default_factory=list)


def machine_info() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "memory_bytes": psutil.virtual_memory().total,
    }


def free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def percentile(values: list[float], fraction: float) -> float:
    """Linear-interpolated percentile, fraction in [0, 1] (0.5 is the median)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def median(values: list[float]) -> float:
    return percentile(values, 0.5)


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and all its descendants."""
    parent = psutil.Process(pid)
    processes = [parent, *parent.children(recursive=True)]
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and all its descendants."""
    parent = psutil.Process(pid)
    total = 0.0
    for process in [parent, *parent.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def postwizard_env(data_dir: Path) -> dict[str, str]:
    """Environment of a bench `postwizard` process: the caller's, minus any POSTWIZARD_*
    setting (a developer's database URL, say) that would make runs incomparable."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("POSTWIZARD_")}
    env.update(
        {
            "POSTWIZARD_DATA_DIR": str(data_dir),
            "POSTWIZARD_LOG_LEVEL": "warning",
            "POSTWIZARD_EMBEDDED_WORKER": "false",
        }
    )
    return env


def postwizard_cli(data_dir: Path, *args: str) -> str:
    """Run `postwizard ARGS` against a data dir and return its stdout; fails loudly."""
    result = subprocess.run(
        [str(VENV_BIN / "postwizard"), *args],
        env=postwizard_env(data_dir),
        cwd=data_dir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"`postwizard {' '.join(args)}` exited with {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


@dataclass
class ServerProcess:
    """A server subprocess on loopback, ready once `ready_path` answered 200."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_file: Path
    seconds_to_ready: float

    @property
    def pid(self) -> int:
        return self.process.pid


def _log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_until_ready(
    process: subprocess.Popen[bytes], url: str, log_file: Path, started: float
) -> float:
    deadline = started + READY_TIMEOUT_SECONDS
    with httpx.Client(timeout=1.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {process.returncode} before {url} answered:\n"
                    f"{_log_tail(log_file)}"
                )
            try:
                if client.get(url).status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(
                    f"{url} did not answer 200 within {READY_TIMEOUT_SECONDS:.0f}s:\n"
                    f"{_log_tail(log_file)}"
                )
            # Short polls: the cold-start figure is only as fine as this interval.
            time.sleep(0.01)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server(
    command: list[str],
    port: int,
    env: Mapping[str, str] | None,
    log_dir: Path,
    ready_path: str = "/healthz",
) -> Iterator[ServerProcess]:
    """Start a server, time it to its first 200 on ready_path, and stop it on exit.

    env None inherits this process's environment.
    """
    log_file = log_dir / f"server-{port}.log"
    base_url = f"http://{LOOPBACK_HOST}:{port}"
    with log_file.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            env=None if env is None else dict(env),
            cwd=log_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        seconds = _wait_until_ready(process, base_url + ready_path, log_file, started)
        yield ServerProcess(process, base_url, log_file, seconds)
    finally:
        _stop(process)


def postwizard_serve_command(port: int) -> list[str]:
    return [
        str(VENV_BIN / "postwizard"),
        "serve",
        "--host",
        LOOPBACK_HOST,
        "--port",
        str(port),
    ]


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as path:
        yield Path(path)


@dataclass(frozen=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    requests_per_second: float
    latency_ms_p50: float
    latency_ms_p99: float
    client_cpu_percent: float
    # Whichever side is near 100% is what limited the run (one core each, at best).
    server_cpu_percent: float | None = None


def run_load(
    url: str,
    server_pid: int | None = None,
    headers: Mapping[str, str] | None = None,
    concurrency: int = 32,
    warmup_seconds: float = 1.0,
    duration_seconds: float = 5.0,
) -> LoadResult:
    """Drive url from a separate Python process (bench/load.py) so the load generator never
    competes with the bench's own interpreter, and return what it measured; with server_pid,
    also how busy the server was (averaged over warm-up and measurement)."""
    command = [
        sys.executable,
        str(BENCH_DIR / "load.py"),
        "--url",
        url,
        "--concurrency",
        str(concurrency),
        "--warmup",
        str(warmup_seconds),
        "--duration",
        str(duration_seconds),
    ]
    for name, value in (headers or {}).items():
        command += ["--header", f"{name}: {value}"]
    server_cpu_before = cpu_seconds(server_pid) if server_pid is not None else 0.0
    started = time.perf_counter()
    result = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=warmup_seconds + duration_seconds + 60,
    )
    wall_seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed ({result.returncode}):\n{result.stderr}")
    load = LoadResult(**json.loads(result.stdout))
    if server_pid is None:
        return load
    server_cpu = cpu_seconds(server_pid) - server_cpu_before
    return dataclasses.replace(load, server_cpu_percent=100 * server_cpu / wall_seconds)

"""Shared pieces of the benchmarks: results, server subprocesses, load runs, statistics."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import resource
import shutil
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


def postwizard_env(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """Environment of a bench `postwizard` process: the caller's, minus any POSTWIZARD_*
    setting (a developer's database URL, say) that would make runs incomparable."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("POSTWIZARD_")}
    env.update(
        {
            "POSTWIZARD_DATA_DIR": str(data_dir),
            "POSTWIZARD_LOG_LEVEL": "warning",
            "POSTWIZARD_EMBEDDED_WORKER": "false",
            # The benches drive the API with one token far faster than a person's script would.
            "POSTWIZARD_API_TOKEN_REQUESTS_PER_MINUTE": "100000000",
        }
    )
    if database_url:
        env["POSTWIZARD_DATABASE_URL"] = database_url
    return env


def postwizard_cli(data_dir: Path, *args: str, database_url: str | None = None) -> str:
    """Run `postwizard ARGS` against a data dir (and database) and return its stdout; fails loudly."""
    result = subprocess.run(
        [str(VENV_BIN / "postwizard"), *args],
        env=postwizard_env(data_dir, database_url),
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


# The load generators. wrk (Debian's `wrk` package) when installed: a C event loop that can
# drive far more requests than a Python server answers, so the server is the limit. Else the
# Python httpx generator in bench/load.py, which tops out near 1,500 req/s on one core and
# so caps any fast server's figure; its runs say so in their notes.
WRK_SCRIPT = BENCH_DIR / "wrk_status.lua"
# BENCH_LOAD_GENERATOR=httpx (or wrk) forces one generator, e.g. to compare the two.
GENERATOR_ENV = "BENCH_LOAD_GENERATOR"
REQUEST_TIMEOUT_SECONDS = 10
INSTALL_WRK_HINT = "install wrk (`sudo apt-get install wrk`) and run `make bench` again"


@dataclass(frozen=True)
class LoadPlan:
    """Which load generator drives the load runs, and the CPU cores given to it and to the
    server under load (None: not pinned, the kernel schedules both on any core)."""

    generator: str  # "wrk" or "httpx"
    wrk_path: str | None
    server_cores: tuple[int, ...] | None
    client_cores: tuple[int, ...] | None
    cpu_count: int
    pinning_note: str

    @property
    def client_threads(self) -> int:
        """wrk threads: one per core the generator may use (more only time-share a core)."""
        usable = len(self.client_cores) if self.client_cores else self.cpu_count
        return max(1, min(usable, 4))

    def pin_server(self, command: list[str]) -> list[str]:
        return _pinned(command, self.server_cores)

    def pin_client(self, command: list[str]) -> list[str]:
        return _pinned(command, self.client_cores)

    def describe(self) -> str:
        if self.generator == "wrk":
            text = f"load generator: wrk -t{self.client_threads} (C, epoll)"
        else:
            why = (
                f"as {GENERATOR_ENV}=httpx asks"
                if self.wrk_path
                else f"because wrk is not installed; {INSTALL_WRK_HINT}"
            )
            text = (
                "load generator: Python httpx (bench/load.py). THESE FIGURES ARE LIMITED BY "
                f"THE PYTHON LOAD GENERATOR (~1,500 req/s on one core), not the servers, {why}"
            )
        return f"{text}; {self.pinning_note}"


def _pinned(command: list[str], cores: tuple[int, ...] | None) -> list[str]:
    if cores is None:
        return command
    # taskset execs the command, so the pid the bench watches is the server's own.
    return ["taskset", "-c", ",".join(str(core) for core in cores), *command]


def load_plan() -> LoadPlan:
    """wrk if installed (unless BENCH_LOAD_GENERATOR says otherwise), and with taskset and 2+
    cores, the server on one core and the generator on the rest so they don't fight."""
    wrk_path = shutil.which("wrk")
    choice = os.environ.get(GENERATOR_ENV, "").strip().lower()
    if choice not in ("", "wrk", "httpx"):
        raise RuntimeError(f"{GENERATOR_ENV} must be wrk or httpx, got {choice!r}")
    if choice == "wrk" and wrk_path is None:
        raise RuntimeError(f"{GENERATOR_ENV}=wrk but wrk is not on PATH; {INSTALL_WRK_HINT}")
    generator = choice or ("wrk" if wrk_path else "httpx")

    cores = sorted(os.sched_getaffinity(0))
    total = len(cores)
    shared = f"{total} CPU cores, shared by server and load generator"
    if shutil.which("taskset") is None:
        return LoadPlan(
            generator,
            wrk_path,
            None,
            None,
            total,
            f"{shared}, not pinned (taskset missing; it is in util-linux)",
        )
    if total < 2:
        return LoadPlan(generator, wrk_path, None, None, total, f"{shared}, not pinned")
    server_cores, client_cores = (cores[0],), tuple(cores[1:])
    client_text = ",".join(str(core) for core in client_cores)
    return LoadPlan(
        generator,
        wrk_path,
        server_cores,
        client_cores,
        total,
        f"{shared}; taskset pins the server to core {cores[0]} and the load generator to "
        f"core {client_text}, so the server gets at most one core",
    )


@dataclass(frozen=True)
class LoadResult:
    requests: int  # successful (2xx) requests in the measured window
    errors: int  # non-2xx responses plus socket errors (connect, read, write, timeout)
    seconds: float
    requests_per_second: float  # successful requests only
    latency_ms_p50: float
    latency_ms_p99: float
    # CPU of the generator, in % of one core; compare with client_cores to see if it was the
    # limit.
    client_cpu_percent: float
    server_cpu_percent: float | None = None
    latency_ms_p90: float | None = None
    # CPU used by everything else on the machine during the run (% of one core): a busy
    # neighbour (a test suite, a build) makes the figures lower and noisier.
    other_cpu_percent: float | None = None
    client_cores: int = 1
    error_detail: str = ""


def run_load(
    url: str,
    server_pid: int | None = None,
    headers: Mapping[str, str] | None = None,
    concurrency: int = 32,
    warmup_seconds: float = 1.0,
    duration_seconds: float = 5.0,
    plan: LoadPlan | None = None,
) -> LoadResult:
    """Drive url with closed-loop load on `concurrency` keep-alive connections, from a
    separate process (wrk, else bench/load.py) so the load never competes with the bench's
    own interpreter, and return what it measured; with server_pid, also how busy the server
    was."""
    plan = plan or load_plan()
    if plan.generator == "wrk":
        return _run_wrk(
            url, server_pid, headers or {}, concurrency, warmup_seconds, duration_seconds, plan
        )
    return _run_httpx(
        url, server_pid, headers or {}, concurrency, warmup_seconds, duration_seconds, plan
    )


@dataclass
class _CpuWatch:
    """Server, generator and whole-machine CPU over one stretch of a load run."""

    server_pid: int | None
    started: float = 0.0
    server: float = 0.0
    children: float = 0.0
    machine: float = 0.0

    @staticmethod
    def _children_seconds() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    @staticmethod
    def _machine_busy_seconds() -> float:
        times = psutil.cpu_times()
        return times.user + times.nice + times.system + times.irq + times.softirq

    def start(self) -> None:
        self.server = cpu_seconds(self.server_pid) if self.server_pid is not None else 0.0
        self.children = self._children_seconds()
        self.machine = self._machine_busy_seconds()
        self.started = time.perf_counter()

    def stop(self) -> dict[str, float | None]:
        """Percentages of one core since start(); the generator's CPU is that of the
        subprocesses waited for meanwhile (the generator alone)."""
        wall = time.perf_counter() - self.started
        client = self._children_seconds() - self.children
        machine = self._machine_busy_seconds() - self.machine
        if self.server_pid is None:
            return {"client": 100 * client / wall, "server": None, "other": None}
        server = cpu_seconds(self.server_pid) - self.server
        return {
            "client": 100 * client / wall,
            "server": 100 * server / wall,
            # The bench's own interpreter is idle meanwhile, so this is the neighbours.
            "other": 100 * max(0.0, machine - server - client) / wall,
        }


def _run_httpx(
    url: str,
    server_pid: int | None,
    headers: Mapping[str, str],
    concurrency: int,
    warmup_seconds: float,
    duration_seconds: float,
    plan: LoadPlan,
) -> LoadResult:
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
    for name, value in headers.items():
        command += ["--header", f"{name}: {value}"]
    # Server CPU is averaged over warm-up and measurement: load.py does both in one process.
    watch = _CpuWatch(server_pid)
    watch.start()
    result = subprocess.run(
        plan.pin_client(command),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=warmup_seconds + duration_seconds + 60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed ({result.returncode}):\n{result.stderr}")
    cpu = watch.stop()
    # The generator's CPU stays load.py's own figure, as before.
    load = LoadResult(**json.loads(result.stdout))
    return dataclasses.replace(
        load,
        server_cpu_percent=cpu["server"],
        other_cpu_percent=cpu["other"],
        error_detail=f"{load.errors} non-200 or failed" if load.errors else "",
    )


# --- wrk -------------------------------------------------------------------------------

_WRK_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_WRK_TIME = r"([0-9.]+)(us|ms|s|m|h)"


@dataclass(frozen=True)
class WrkOutput:
    """What one `wrk --latency -s wrk_status.lua` run printed."""

    requests: int  # every completed response, whatever its status
    seconds: float
    requests_per_second: float
    latency_ms: dict[int, float]  # percentile (50, 75, 90, 99) -> milliseconds
    socket_errors: dict[str, int]  # connect, read, write, timeout
    non_2xx: int


def _wrk_ms(number: str, unit: str) -> float:
    return float(number) * _WRK_TIME_UNITS_MS[unit]


def parse_wrk(text: str) -> WrkOutput:
    """Parse wrk 4's report; fails loudly on anything it cannot read rather than guessing."""
    totals = re.search(rf"^\s*(\d+) requests in {_WRK_TIME},", text, re.MULTILINE)
    rate = re.search(r"^Requests/sec:\s+([0-9.]+)\s*$", text, re.MULTILINE)
    if totals is None or rate is None:
        raise RuntimeError(f"could not read wrk's output:\n{text}")
    latency = {
        int(match.group(1)): _wrk_ms(match.group(2), match.group(3))
        for match in re.finditer(rf"^\s+(\d+)%\s+{_WRK_TIME}\s*$", text, re.MULTILINE)
    }
    missing = {50, 90, 99} - latency.keys()
    if missing:
        raise RuntimeError(f"wrk printed no latency percentiles {sorted(missing)}:\n{text}")
    socket_errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if errors is not None:
        socket_errors = dict(zip(socket_errors, map(int, errors.groups()), strict=True))
    # Our script counts every non-2xx; wrk's own line only statuses >= 400. Take the larger,
    # so a missing script line can't hide errors.
    script = re.search(r"^bench non-2xx responses: (\d+)\s*$", text, re.MULTILINE)
    builtin = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    non_2xx = max(int(script.group(1)) if script else 0, int(builtin.group(1)) if builtin else 0)
    return WrkOutput(
        requests=int(totals.group(1)),
        seconds=_wrk_ms(totals.group(2), totals.group(3)) / 1000,
        requests_per_second=float(rate.group(1)),
        latency_ms=latency,
        socket_errors=socket_errors,
        non_2xx=non_2xx,
    )


def _wrk_command(
    plan: LoadPlan,
    url: str,
    headers: Mapping[str, str],
    concurrency: int,
    seconds: float,
) -> list[str]:
    assert plan.wrk_path is not None
    command = [
        plan.wrk_path,
        f"-t{min(plan.client_threads, concurrency)}",
        f"-c{concurrency}",
        # wrk takes whole seconds only.
        f"-d{max(1, round(seconds))}s",
        f"--timeout={REQUEST_TIMEOUT_SECONDS}s",
        "--latency",
        "-s",
        str(WRK_SCRIPT),
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    return plan.pin_client([*command, url])


def _wrk(command: list[str], seconds: float) -> str:
    result = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=seconds + 60,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result.stdout


def _run_wrk(
    url: str,
    server_pid: int | None,
    headers: Mapping[str, str],
    concurrency: int,
    warmup_seconds: float,
    duration_seconds: float,
    plan: LoadPlan,
) -> LoadResult:
    if warmup_seconds > 0:
        # A separate, discarded run, so that only the measured one counts anywhere.
        _wrk(_wrk_command(plan, url, headers, concurrency, warmup_seconds), warmup_seconds)
    watch = _CpuWatch(server_pid)
    watch.start()
    output = parse_wrk(
        _wrk(_wrk_command(plan, url, headers, concurrency, duration_seconds), duration_seconds)
    )
    cpu = watch.stop()
    failed_sockets = sum(output.socket_errors.values())
    ok = max(0, output.requests - output.non_2xx)
    detail = []
    if output.non_2xx:
        detail.append(f"{output.non_2xx} non-2xx")
    detail += [f"{count} {kind}" for kind, count in output.socket_errors.items() if count]
    return LoadResult(
        requests=ok,
        errors=output.non_2xx + failed_sockets,
        seconds=output.seconds,
        # wrk's Requests/sec counts every response; keep only the 2xx share of it.
        requests_per_second=(
            output.requests_per_second * ok / output.requests if output.requests else 0.0
        ),
        latency_ms_p50=output.latency_ms[50],
        latency_ms_p90=output.latency_ms[90],
        latency_ms_p99=output.latency_ms[99],
        client_cpu_percent=cpu["client"] or 0.0,
        server_cpu_percent=cpu["server"],
        other_cpu_percent=cpu["other"],
        client_cores=plan.client_threads,
        error_detail=", ".join(detail),
    )


BENCH_EMAIL = "bench@example.com"
BENCH_PASSWORD = "bench-password-123"


def create_owner_token(data_dir: Path, database_url: str | None = None) -> str:
    """Migrate (PostgreSQL), create the bench owner and return a fresh API token secret."""
    if database_url:
        postwizard_cli(data_dir, "migrate", database_url=database_url)
    postwizard_cli(
        data_dir,
        "user",
        "create",
        "--email",
        BENCH_EMAIL,
        "--password",
        BENCH_PASSWORD,
        "--name",
        "Bench",
        "--workspace",
        "Bench",
        database_url=database_url,
    )
    secret = postwizard_cli(
        data_dir,
        "token",
        "create",
        "--email",
        BENCH_EMAIL,
        "--name",
        "bench",
        "--quiet",
        database_url=database_url,
    ).strip()
    if not secret or len(secret.split()) != 1:
        raise RuntimeError(f"`postwizard token create --quiet` printed no bare secret: {secret!r}")
    return secret

"""Foundation bench: cold start, idle memory, and the cost of an authenticated request.

Everything runs against a real `postwizard serve` subprocess on loopback with its own empty
data dir (SQLite), as a person would run it. The load runs use wrk when it is installed, the
same connections for PostWizard and the bare app, and (with taskset) pin the server and the
load generator to different cores; see common.load_plan.
"""

from __future__ import annotations

import sys
import time

import httpx

from common import (
    BENCH_DIR,
    BenchResult,
    LoadPlan,
    LoadResult,
    create_owner_token,
    free_port,
    load_plan,
    median,
    postwizard_env,
    postwizard_serve_command,
    row,
    rss_bytes,
    run_load,
    running_server,
    scratch_dir,
)

NAME = "foundation"
COLD_STARTS = 5
LOAD_CONCURRENCY = 32
LOAD_WARMUP_SECONDS = 1.0
LOAD_SECONDS = 5.0
MIB = 1024 * 1024
CLIENT_SATURATED_PERCENT = 90
# CPU (% of one core) used by other processes during a load run above which it is flagged.
BUSY_MACHINE_PERCENT = 25


def measure_cold_starts() -> list[float]:
    """Seconds from spawn to the first 200 on /healthz, each on a new empty data dir, so the
    figure includes creating the database and applying every migration."""
    seconds: list[float] = []
    for _ in range(COLD_STARTS):
        with scratch_dir("postwizard-bench-cold-") as data_dir:
            port = free_port()
            command = postwizard_serve_command(port)
            with running_server(command, port, postwizard_env(data_dir), data_dir) as server:
                seconds.append(server.seconds_to_ready)
    return seconds


def check_answers_200(url: str, headers: dict[str, str]) -> None:
    # A load run against an endpoint that answers 401 would measure the error path at full
    # speed and report a meaningless ratio, so refuse to start instead.
    response = httpx.get(url, headers=headers, timeout=10)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} answered {response.status_code}: {response.text[:500]}")


def load_note(load: LoadResult, plan: LoadPlan) -> str:
    p90 = "" if load.latency_ms_p90 is None else f"p90 {load.latency_ms_p90:.1f} ms, "
    errors = f"{load.errors} errors" + (f" ({load.error_detail})" if load.error_detail else "")
    note = (
        f"p50 {load.latency_ms_p50:.1f} ms, {p90}p99 {load.latency_ms_p99:.1f} ms, {errors}; "
        f"CPU (% of a core): server {load.server_cpu_percent or 0:.0f}%, "
        f"{plan.generator} {load.client_cpu_percent:.0f}%"
    )
    if load.other_cpu_percent is not None:
        note += f", other processes {load.other_cpu_percent:.0f}%"
    flags = []
    if load.client_cpu_percent >= CLIENT_SATURATED_PERCENT * load.client_cores:
        # Then the figure is the generator's ceiling, and the server could do more.
        flags.append("limited by the load generator")
    if (load.other_cpu_percent or 0) >= BUSY_MACHINE_PERCENT:
        flags.append("busy machine: other processes took CPU, figures are low and noisy")
    if load.errors:
        flags.append("ERRORS: the figure counts 2xx responses only")
    if flags:
        note += f" ({'; '.join(flags)})"
    return note


def run() -> BenchResult:
    result = BenchResult(NAME)
    plan = load_plan()

    cold = measure_cold_starts()
    result.rows.append(
        row(
            "cold start to first /healthz 200",
            round(median(cold) * 1000),
            "ms",
            f"median of {len(cold)} fresh data dirs (includes migrations); "
            f"min {min(cold) * 1000:.0f}, max {max(cold) * 1000:.0f} ms",
        )
    )

    with scratch_dir("postwizard-bench-") as data_dir:
        token = create_owner_token(data_dir)
        auth = {"Authorization": f"Bearer {token}"}
        port = free_port()
        command = plan.pin_server(postwizard_serve_command(port))
        with running_server(command, port, postwizard_env(data_dir), data_dir) as server:
            me_url = f"{server.base_url}/api/v1/me"
            check_answers_200(me_url, auth)
            with httpx.Client(headers=auth, timeout=10) as client:
                for _ in range(10):
                    client.get(f"{server.base_url}/healthz")
                    client.get(me_url)
            # Let anything the requests scheduled settle before reading memory.
            time.sleep(1.0)
            idle_rss = rss_bytes(server.pid)
            result.rows.append(
                row(
                    "idle RSS of postwizard serve",
                    round(idle_rss / MIB, 1),
                    "MiB",
                    "server process and its children, after startup and 20 requests",
                )
            )
            postwizard_load = run_load(
                me_url, server.pid, auth, LOAD_CONCURRENCY, LOAD_WARMUP_SECONDS, LOAD_SECONDS, plan
            )
            busy_rss = rss_bytes(server.pid)

    with scratch_dir("postwizard-bench-bare-") as bare_dir:
        port = free_port()
        command = plan.pin_server(
            [sys.executable, str(BENCH_DIR / "bare_app.py"), "--port", str(port)]
        )
        with running_server(command, port, None, bare_dir) as bare_server:
            bare_url = f"{bare_server.base_url}/me"
            check_answers_200(bare_url, {})
            bare_load = run_load(
                bare_url,
                bare_server.pid,
                {},
                LOAD_CONCURRENCY,
                LOAD_WARMUP_SECONDS,
                LOAD_SECONDS,
                plan,
            )

    result.rows += [
        row(
            "RSS after the load run",
            round(busy_rss / MIB, 1),
            "MiB",
            "same server, right after the /api/v1/me load",
        ),
        row(
            "GET /api/v1/me (Bearer token)",
            round(postwizard_load.requests_per_second, 1),
            "req/s",
            load_note(postwizard_load, plan),
        ),
        row(
            "GET /me on bare FastAPI",
            round(bare_load.requests_per_second, 1),
            "req/s",
            load_note(bare_load, plan),
        ),
        row(
            "PostWizard / bare throughput",
            round(postwizard_load.requests_per_second / bare_load.requests_per_second, 3),
            "ratio",
            f"headline; same load for both: {LOAD_CONCURRENCY} keep-alive connections, "
            f"{LOAD_SECONDS:.0f} s measured after a {LOAD_WARMUP_SECONDS:.0f} s warm-up; "
            f"{plan.describe()}"
            + (
                " -- ERRORS in a load run, see above"
                if postwizard_load.errors or bare_load.errors
                else ""
            ),
        ),
    ]
    return result

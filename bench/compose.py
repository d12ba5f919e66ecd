"""Compose & schedule: CSV import throughput, and the month-calendar query with 100,000 posts in
the database, on SQLite and on PostgreSQL (a throwaway cluster started like the tests do)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from common import (
    REPO_ROOT,
    BenchResult,
    create_owner_token,
    free_port,
    percentile,
    postwizard_env,
    postwizard_serve_command,
    row,
    running_server,
    scratch_dir,
)

NAME = "compose"
IMPORT_ROWS = 10_000
CALENDAR_POSTS = 100_000
CALENDAR_QUERIES = 60
SPREAD_DAYS = 3650  # 100,000 posts over ten years: about 830 in a month
FIRST_DAY = datetime(datetime.now(UTC).year + 1, 1, 1, tzinfo=UTC)
HEADER = "text,accounts,time,timezone,labels\n"


def csv_rows(start: int, count: int) -> str:
    lines = []
    for n in range(start, start + count):
        when = FIRST_DAY + timedelta(minutes=(n * SPREAD_DAYS * 24 * 60) // CALENDAR_POSTS)
        lines.append(
            f"Post {n} about sourdough and croissants,bench,{when:%Y-%m-%d %H:%M},UTC,bench\n"
        )
    return HEADER + "".join(lines)


@contextmanager
def prepared_server(
    data_dir: Path, database_url: str | None
) -> Iterator[tuple[str, dict[str, str], str]]:
    """A server with an owner, a token and one sandbox account; yields (url, headers, workspace)."""
    env = postwizard_env(data_dir, database_url)

    token = create_owner_token(data_dir, database_url)
    headers = {"Authorization": f"Bearer {token}"}
    port = free_port()
    with (
        running_server(postwizard_serve_command(port), port, env, data_dir) as server,
        httpx.Client(base_url=server.base_url, headers=headers, timeout=300) as http,
    ):
        workspace = http.get("/api/v1/me").json()["current_workspace_id"]
        http.post(
            f"/api/v1/workspaces/{workspace}/accounts/sandbox",
            json={"display_name": "Bench", "handle": "bench"},
        ).raise_for_status()
        yield server.base_url, headers, workspace


def import_csv(http: httpx.Client, workspace: str, content: str) -> float:
    started = time.perf_counter()
    response = http.post(
        f"/api/v1/workspaces/{workspace}/imports/posts",
        content=content.encode(),
        headers={"Content-Type": "text/csv"},
    )
    response.raise_for_status()
    return time.perf_counter() - started


def measure(label: str, data_dir: Path, database_url: str | None, result: BenchResult) -> None:
    with (
        prepared_server(data_dir, database_url) as (url, headers, workspace),
        httpx.Client(base_url=url, headers=headers, timeout=300) as http,
    ):
        seconds = import_csv(http, workspace, csv_rows(0, IMPORT_ROWS))
        result.rows.append(
            row(
                f"CSV import, {IMPORT_ROWS:,} rows ({label})",
                round(IMPORT_ROWS / seconds),
                "rows/s",
                f"one request, {seconds:.1f} s, every row checked first",
            )
        )
        for start in range(IMPORT_ROWS, CALENDAR_POSTS, IMPORT_ROWS):
            import_csv(http, workspace, csv_rows(start, IMPORT_ROWS))
        latencies = []
        month_count = 0
        for n in range(CALENDAR_QUERIES):
            month = FIRST_DAY + timedelta(days=30 * (n % 100))
            start = month.replace(day=1)
            end = (start + timedelta(days=32)).replace(day=1)
            began = time.perf_counter()
            response = http.get(
                f"/api/v1/workspaces/{workspace}/calendar",
                params={"start": start.isoformat(), "end": end.isoformat()},
            )
            latencies.append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
            month_count = len(response.json()["items"])
        latencies.sort()
        note = f"{CALENDAR_POSTS:,} posts over 10 years, ~{month_count} in a month, {CALENDAR_QUERIES} sequential queries"
        result.rows.append(
            row(f"month calendar p50 ({label})", round(percentile(latencies, 0.5), 1), "ms", note)
        )
        result.rows.append(
            row(
                f"month calendar p99 ({label})",
                round(percentile(latencies, 0.99), 1),
                "ms",
                "full answer: posts with targets",
            )
        )


def run() -> BenchResult:
    result = BenchResult(NAME)
    with scratch_dir("pw-bench-compose-") as data_dir:
        measure("SQLite", data_dir, None, result)
    sys.path.insert(0, str(REPO_ROOT))
    from tests.support.services import ServiceUnavailable, start_postgres

    try:
        server = start_postgres()
    except ServiceUnavailable as error:
        result.rows.append(row("PostgreSQL", "skipped", "", str(error)))
        return result
    with server, scratch_dir("pw-bench-compose-pg-") as data_dir:
        server.create_database("bench_compose")
        measure("PostgreSQL", data_dir, server.url("bench_compose"), result)
    return result

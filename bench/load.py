"""Closed-loop HTTP load generator: N concurrent connections, each sending its next request
as soon as the previous one answered. Runs as its own process and prints one JSON object.

The fallback when wrk is not installed (common.load_plan): being Python, it saturates its
own core near 1,500 req/s, below what a bare FastAPI app answers, so its figures are its own
ceiling rather than the server's.

    python bench/load.py --url http://127.0.0.1:8000/healthz --concurrency 32 \
        --warmup 1 --duration 5 [--header 'Authorization: Bearer pw_...']

Only requests that complete inside the measured window count; anything but a 200 is an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field

import httpx


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0


@dataclass(frozen=True)
class Summary:
    requests: int
    errors: int
    seconds: float
    requests_per_second: float
    latency_ms_p50: float
    latency_ms_p99: float
    client_cpu_percent: float


def percentile(ordered: list[float], fraction: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round((len(ordered) - 1) * fraction))]


async def connection_loop(
    url: str,
    headers: dict[str, str],
    measure_from: float,
    measure_until: float,
    tally: Tally,
) -> None:
    # One client per connection: a single AsyncClient shared by 32 tasks spends its time in
    # its own pool bookkeeping (measured here: 1,500 req/s at 4 tasks, 270 at 32, with the
    # generator's CPU at 100%), which would make every server look equally slow.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10.0) as client:
        await request_loop(client, url, measure_from, measure_until, tally)


async def request_loop(
    client: httpx.AsyncClient,
    url: str,
    measure_from: float,
    measure_until: float,
    tally: Tally,
) -> None:
    while True:
        sent = time.perf_counter()
        if sent >= measure_until:
            return
        try:
            response = await client.get(url)
            ok = response.status_code == 200
        except httpx.HTTPError:
            ok = False
        answered = time.perf_counter()
        # Requests that were in flight across a window edge are left out on both ends.
        if sent < measure_from or answered > measure_until:
            continue
        if ok:
            tally.latencies.append(answered - sent)
        else:
            tally.errors += 1


async def drive(
    url: str, headers: dict[str, str], concurrency: int, warmup: float, duration: float
) -> Summary:
    tally = Tally()
    started = time.perf_counter()
    cpu_started = time.process_time()
    measure_from = started + warmup
    measure_until = measure_from + duration
    await asyncio.gather(
        *(
            connection_loop(url, headers, measure_from, measure_until, tally)
            for _ in range(concurrency)
        )
    )
    cpu_seconds = time.process_time() - cpu_started
    wall_seconds = time.perf_counter() - started
    ordered = sorted(tally.latencies)
    return Summary(
        requests=len(ordered),
        errors=tally.errors,
        seconds=duration,
        requests_per_second=len(ordered) / duration,
        latency_ms_p50=percentile(ordered, 0.50) * 1000,
        latency_ms_p99=percentile(ordered, 0.99) * 1000,
        # Near 100 means the generator itself was the limit, not the server.
        client_cpu_percent=100 * cpu_seconds / wall_seconds,
    )


def parse_header(text: str) -> tuple[str, str]:
    name, separator, value = text.partition(":")
    if not separator:
        raise argparse.ArgumentTypeError(f"header must look like 'Name: value', got {text!r}")
    return name.strip(), value.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds not counted")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured")
    parser.add_argument("--header", type=parse_header, action="append", default=[])
    options = parser.parse_args()
    summary = asyncio.run(
        drive(
            options.url,
            dict(options.header),
            options.concurrency,
            options.warmup,
            options.duration,
        )
    )
    json.dump(asdict(summary), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())

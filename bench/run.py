"""Run PostWizard's benchmarks: `python bench/run.py [name ...]` (what `make bench` does).

A bench is a module in bench/ with a `run() -> BenchResult` function; with no names, every
bench runs, foundation first. Each prints a table and writes bench/results/<name>.json with
the machine it ran on, so figures from different machines are never compared blindly.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from common import BENCH_DIR, RESULTS_DIR, BenchResult, machine_info

# Modules in bench/ that support the benches rather than being one.
SUPPORT_MODULES = {"run", "common", "load", "bare_app"}
# Benches that run first when all run; the rest follow alphabetically.
FIRST = ["foundation"]

console = Console()


def discover() -> list[str]:
    names = sorted(
        path.stem
        for path in BENCH_DIR.glob("*.py")
        if path.stem not in SUPPORT_MODULES and not path.stem.startswith("_")
    )
    return [name for name in FIRST if name in names] + [n for n in names if n not in FIRST]


def load_bench(name: str) -> Callable[[], BenchResult]:
    module = importlib.import_module(name)
    bench = getattr(module, "run", None)
    if not callable(bench):
        raise SystemExit(f"bench/{name}.py has no run() function")
    return bench  # type: ignore[no-any-return]


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def show(result: BenchResult, seconds: float) -> None:
    table = Table(title=f"{result.name} ({seconds:.0f} s)", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("unit")
    table.add_column("note", overflow="fold")
    for line in result.rows:
        table.add_row(line["metric"], format_value(line["value"]), line["unit"], line["note"])
    console.print(table)


def save(result: BenchResult, seconds: float) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{result.name}.json"
    document = {
        "name": result.name,
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(seconds, 1),
        "machine": machine_info(),
        "rows": result.rows,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path


def main() -> int:
    available = discover()
    parser = argparse.ArgumentParser(description="Run PostWizard's benchmarks.")
    parser.add_argument(
        "names", nargs="*", metavar="name", help=f"benches to run (default: all of {available})"
    )
    options = parser.parse_args()
    unknown = [name for name in options.names if name not in available]
    if unknown:
        parser.error(f"unknown bench {', '.join(unknown)}; available: {', '.join(available)}")
    for name in options.names or available:
        bench = load_bench(name)
        console.rule(f"bench: {name}")
        started = time.perf_counter()
        result = bench()
        seconds = time.perf_counter() - started
        show(result, seconds)
        path = save(result, seconds)
        console.print(f"saved {path.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

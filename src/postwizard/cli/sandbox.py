"""`postwizard sandbox`: run the sandbox network on its own, as a separate "remote" service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

SANDBOX_DB_FILE = "sandbox.db"
# A timeout-after-apply request hangs on purpose; do not let it hold up Ctrl+C for long.
GRACEFUL_SHUTDOWN_SECONDS = 5

errors = Console(stderr=True)


def sandbox(
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65_535, help="Port to listen on.")] = 9000,
    data_dir: Annotated[
        Path,
        typer.Option(
            envvar="POSTWIZARD_SANDBOX_DATA_DIR",
            file_okay=False,
            help=f"Folder of the sandbox's own database ({SANDBOX_DB_FILE}), separate from PostWizard's.",
        ),
    ] = Path("data/sandbox"),
    error_rate: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Share of post creations answered 500/503 (not stored)."
        ),
    ] = 0.0,
    rate_limit_rate: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Share answered 429 with Retry-After: 1 (not stored)."),
    ] = 0.0,
    timeout_after_apply_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share stored, then answered only after --hang-seconds (an unknown outcome).",
        ),
    ] = 0.0,
    reset_rate: Annotated[
        float,
        typer.Option(
            min=0.0, max=1.0, help="Share stored, then the connection is closed without an answer."
        ),
    ] = 0.0,
    latency_ms: Annotated[
        int, typer.Option(min=0, max=60_000, help="Milliseconds added to every API call.")
    ] = 0,
    seed: Annotated[
        int, typer.Option(help="Seed of the fault draws: the same seed, the same run.")
    ] = 0,
    hang_seconds: Annotated[
        float, typer.Option(min=0.001, help="How long a timeout-after-apply answer is held back.")
    ] = 30.0,
    requests_per_window: Annotated[
        int, typer.Option(min=1, help="Rate limit: requests each account may make per window.")
    ] = 300,
    window_seconds: Annotated[
        float, typer.Option(min=0.001, help="Rate limit: the window, in seconds.")
    ] = 300.0,
) -> None:
    """Run the sandbox network: a simulated social network with its own database.

    PostWizard publishes to it over HTTP as to any remote network. It is NOT idempotent: every create request makes a post. Its audience reacts to posts over time, and it can inject faults into post creation: errors, rate limits, timeouts after storing, dropped connections.

    GET /v1/_record lists every post received and any client key seen twice; PUT /v1/_faults changes the faults while it runs. API docs: /docs.
    """
    import uvicorn

    from postwizard.sandbox import FaultConfig, RateLimit, create_sandbox_app

    try:
        faults = FaultConfig(
            seed=seed,
            error_rate=error_rate,
            rate_limit_rate=rate_limit_rate,
            timeout_after_apply_rate=timeout_after_apply_rate,
            reset_rate=reset_rate,
            latency_ms=latency_ms,
            hang_seconds=hang_seconds,
        )
    except ValidationError as error:
        for problem in error.errors():
            errors.print(f"[red]Invalid fault settings:[/red] {problem['msg']}")
        raise typer.Exit(2) from None
    application = create_sandbox_app(
        data_dir / SANDBOX_DB_FILE,
        faults=faults,
        rate_limit=RateLimit(requests=requests_per_window, window_seconds=window_seconds),
    )
    errors.print(
        f"Sandbox network on http://{host}:{port} (database {data_dir / SANDBOX_DB_FILE})",
        highlight=False,
    )
    uvicorn.run(
        application,
        host=host,
        port=port,
        server_header=False,
        # Every post is in GET /v1/_record; a line per request would only slow a benchmark.
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )

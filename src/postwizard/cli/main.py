"""`postwizard`: run, migrate and administer a PostWizard instance."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard import __version__
from postwizard.cli.sandbox import sandbox
from postwizard.config import Settings
from postwizard.errors import PostWizardError

T = TypeVar("T")

app = typer.Typer(
    help="PostWizard — a self-hosted social media manager.\n\nConfiguration comes from POSTWIZARD_* "
    "environment variables (or a .env file); `postwizard doctor` shows what is in effect.",
    no_args_is_help=True,
    rich_markup_mode="rich",
)
user_app = typer.Typer(help="Manage user accounts.", no_args_is_help=True)
token_app = typer.Typer(help="Manage personal API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.command()(sandbox)
app.add_typer(token_app, name="token")

console = Console()
errors = Console(stderr=True)


def refuse_invalid(error: ValidationError, name: Callable[[str], str]) -> NoReturn:
    """Print each validation problem, named by `name(field)`, and exit with status 2."""
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        # A rule across several settings has no single field to name.
        label = name(field) if field else "Configuration error"
        errors.print(f"[red]{label}:[/red] {problem['msg']}")
    raise typer.Exit(2)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        refuse_invalid(error, lambda field: f"Configuration error in POSTWIZARD_{field.upper()}")


def migrate_database(settings: Settings) -> None:
    from postwizard.db.migrate import upgrade_to_head

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade_to_head(settings.effective_database_url)


async def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from postwizard.db.engine import create_engine, create_session_factory

    engine = create_engine(settings.effective_database_url)
    try:
        async with create_session_factory(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


def run_in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction; domain errors become a red message and exit code 1."""
    try:
        return asyncio.run(_with_session(settings, work))
    except PostWizardError as error:
        errors.print(f"[red]Error:[/red] {error.message}")
        raise typer.Exit(1) from None


@app.command()
def version() -> None:
    """Print PostWizard's version."""
    console.print(__version__)


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default POSTWIZARD_HOST, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default POSTWIZARD_PORT, 8000).")
    ] = None,
    worker: Annotated[
        bool | None,
        typer.Option("--worker/--no-worker", help="Run the background worker in this process."),
    ] = None,
) -> None:
    """Start the web server (API + web interface). On SQLite, migrations are applied first."""
    import uvicorn

    from postwizard.app import create_app

    settings = load_settings()
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if worker is not None:
        overrides["embedded_worker"] = worker
    settings = settings.model_copy(update=overrides)
    if settings.is_sqlite:
        migrate_database(settings)
    application = create_app(settings)
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )


@app.command()
def worker() -> None:
    """Run the publishing dispatcher and the metric collector on their own, for scale-out: web processes with
    POSTWIZARD_EMBEDDED_WORKER=false, and any number of workers against PostgreSQL (Redis carries
    wake-ups between processes). Stops gracefully on Ctrl-C / SIGTERM."""
    from postwizard.cli.worker import run_worker

    settings = load_settings()
    if settings.is_sqlite:
        migrate_database(settings)
    asyncio.run(run_worker(settings))


@app.command()
def migrate() -> None:
    """Apply database migrations (SQLite or PostgreSQL, from POSTWIZARD_DATABASE_URL)."""
    from postwizard.db.migrate import head_revision

    settings = load_settings()
    migrate_database(settings)
    console.print(f"[green]Database is at the newest schema[/green] ({head_revision()}).")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(prompt=True, help="Sign-in email address.")],
    name: Annotated[str, typer.Option(prompt=True, help="Display name.")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, help="At least 10 characters."
        ),
    ],
    workspace: Annotated[
        str, typer.Option(help="Name of the workspace this user will own.")
    ] = "My workspace",
) -> None:
    """Create a user who owns a new workspace (the first user is the instance's owner, as in web setup)."""
    from postwizard.auth import service as auth_service
    from postwizard.auth.schemas import SetupRequest
    from postwizard.workspaces import service as workspaces_service

    try:
        body = SetupRequest(email=email, password=password, name=name, workspace_name=workspace)
    except ValidationError as error:
        refuse_invalid(error, lambda field: field)
    settings = load_settings()
    if settings.is_sqlite:
        migrate_database(settings)

    async def create(session: AsyncSession) -> str:
        user = await auth_service.create_user(
            session, email=body.email, password=body.password, name=body.name
        )
        await workspaces_service.create_workspace(session, user, body.workspace_name)
        return user.email

    created = run_in_session(settings, create)
    console.print(f"[green]Created[/green] {created}, owner of workspace “{body.workspace_name}”.")


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="The user the token acts as.")],
    name: Annotated[str, typer.Option(help="A name to recognise the token by.")] = "cli",
    expires_in_days: Annotated[
        int | None, typer.Option(min=1, max=3650, help="Expire after this many days.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the secret (for scripts).")
    ] = False,
) -> None:
    """Create a personal API token; the secret is printed once."""
    from postwizard.auth import repository as auth_repository
    from postwizard.auth import service as auth_service

    settings = load_settings()

    async def create(session: AsyncSession) -> str:
        user = await auth_repository.user_by_email(session, email)
        if user is None:
            raise PostWizardError(
                f"No user with email {email}; create one with `postwizard user create`."
            )
        _token, secret = await auth_service.create_token(
            session, user, name=name, expires_in_days=expires_in_days
        )
        return secret

    secret = run_in_session(settings, create)
    if quiet:
        print(secret)
        return
    console.print("[green]Token created.[/green] Copy it now, it will not be shown again:")
    console.print(secret, highlight=False, soft_wrap=True)
    console.print("Use it as: [bold]Authorization: Bearer <token>[/bold]")


@app.command("import")
def import_posts(
    csv_file: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            readable=True,
            help="The CSV file (columns: docs/import.md).",
        ),
    ],
    email: Annotated[
        str, typer.Option(help="Import as this user (an admin or owner of the workspace).")
    ],
    workspace: Annotated[
        str | None, typer.Option(help="Workspace name or id (default: the user's current one).")
    ] = None,
    timezone: Annotated[str, typer.Option(help="Zone for times given without one.")] = "UTC",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row; create nothing.")
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Create the valid rows even if some are invalid.")
    ] = False,
) -> None:
    """Import posts from a CSV file: every row is checked first, and nothing is created while any
    row is invalid (unless --skip-invalid). Bad rows are listed with their line numbers."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from postwizard.cli.importing import run_import

    settings = load_settings()
    content = csv_file.read_text(encoding="utf-8-sig")
    total = max(0, sum(1 for line in content.splitlines() if line.strip()) - 1)
    columns = (
        TextColumn("[bold]Checking rows"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=errors, transient=True) as progress:
        task = progress.add_task("rows", total=total)

        def advance(rows: int) -> None:
            progress.advance(task, rows)

        report = run_in_session(
            settings,
            lambda session: run_import(
                session,
                email,
                workspace,
                content,
                timezone=timezone,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                progress=advance,
            ),
        )
    for problem in report.problems[:200]:
        errors.print(
            f"[red]line {problem.line}[/red] · {problem.column}: {problem.message}", highlight=False
        )
    if len(report.problems) > 200:
        errors.print(f"… and {len(report.problems) - 200} more problems")
    bad_lines = len({p.line for p in report.problems})
    if report.dry_run:
        console.print(
            f"Dry run: {report.valid} of {report.rows} rows are valid, {bad_lines} invalid. Nothing was created."
        )
        raise typer.Exit(1 if bad_lines else 0)
    if report.problems and not skip_invalid:
        errors.print(
            f"[red]{bad_lines} of {report.rows} rows are invalid; nothing was imported.[/red] Fix them or use --skip-invalid."
        )
        raise typer.Exit(1)
    console.print(
        f"[green]Imported {len(report.created)} posts[/green]"
        + (f" (skipped {bad_lines} invalid rows)" if bad_lines else "")
        + "."
    )


@app.command()
def openapi() -> None:
    """Print the OpenAPI document of the HTTP API (the front end's client is generated from it)."""
    from postwizard.app import create_app

    # The spec depends on code only: a throwaway data dir and secret will do.
    with tempfile.TemporaryDirectory(prefix="postwizard-openapi-") as scratch:
        settings = Settings(data_dir=Path(scratch), secret_key="openapi-export-" + "x" * 32)
        spec = create_app(settings).openapi()
    sys.stdout.write(json.dumps(spec, indent=2, sort_keys=True) + "\n")


@app.command()
def doctor() -> None:
    """Show the effective configuration (secrets masked) and check each dependency."""
    from postwizard.cli.doctor import run_doctor

    settings = load_settings()
    healthy = run_doctor(settings, console)
    raise typer.Exit(0 if healthy else 1)

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
from rich.progress import Progress
from sqlalchemy.ext.asyncio import AsyncSession

from postwizard import __version__
from postwizard.cli.sandbox import sandbox
from postwizard.config import Settings
from postwizard.errors import PostWizardError

T = TypeVar("T")
SERVE_GRACEFUL_SHUTDOWN_S = 30

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

    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
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
    from postwizard.workers import freeze_startup_objects

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
    freeze_startup_objects()  # process-wide: see postwizard/workers.py
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
        # Requests still running after this are cut off; live event streams end on their own.
        timeout_graceful_shutdown=SERVE_GRACEFUL_SHUTDOWN_S,
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


@app.command("rotate-key")
def rotate_key(
    new_key: Annotated[
        str | None,
        typer.Option(
            envvar="POSTWIZARD_NEW_SECRET_KEY",
            help="The new secret (at least 32 characters); default: a random one is generated.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Re-encrypt every stored credential under a new instance secret key, in one transaction.
    Stop every `serve` and `worker` process first, and start them again afterwards."""
    from postwizard.cli.keys import (
        commit_key_file,
        generate_key,
        key_file,
        reencrypt_all,
        stage_key_file,
        validate_new_key,
    )

    settings = load_settings()
    path = key_file(settings)
    if path is not None and not path.exists():
        errors.print(
            f"[red]Error:[/red] no secret key at {path} and POSTWIZARD_SECRET_KEY is not set."
        )
        raise typer.Exit(1)
    old_key = settings.resolved_secret_key()
    chosen = new_key if new_key is not None else generate_key()
    try:
        validate_new_key(old_key, chosen)
    except PostWizardError as error:
        errors.print(f"[red]Error:[/red] {error.message}")
        raise typer.Exit(2) from None
    pending = stage_key_file(path, chosen) if path is not None else None
    try:
        rotation = run_in_session(settings, lambda session: reencrypt_all(session, old_key, chosen))
    except BaseException:
        if pending is not None:
            pending.unlink(missing_ok=True)
        raise
    console.print(f"[green]Re-encrypted[/green] {rotation.summary()}.", highlight=False)
    if path is not None and pending is not None:
        commit_key_file(pending, path)
        console.print(f"The new key is in {path}. Start PostWizard again.")
        return
    console.print(
        "The key came from POSTWIZARD_SECRET_KEY: set it to the new key below everywhere "
        "PostWizard runs (web and workers) before starting them again, or nothing will decrypt."
    )
    if new_key is None:
        print(chosen)


@app.command("export")
def export_workspace(
    workspace: Annotated[
        str, typer.Option("--workspace", "-w", help="The workspace's id, or its exact name.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="The zip to write (default: postwizard-<workspace>-<UTC time>.zip here).",
        ),
    ] = None,
) -> None:
    """Export one workspace: posts (targets, media, comments, deliveries and attempts), media
    files, accounts without credentials, analytics snapshots, goals and challenges, notes and
    webhooks without secrets, as JSON files + media files in one zip with a manifest.json.
    The format is described in docs/export.md. Safe while PostWizard runs."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from postwizard.cli.exporting import export_to_file

    settings = load_settings()
    columns = (
        TextColumn("[bold]Exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=errors, transient=True) as progress:
        task = progress.add_task("items", total=None)

        def set_total(total: int) -> None:
            progress.update(task, total=total)

        def advance(items: int) -> None:
            progress.advance(task, items)

        try:
            path, found, summary = asyncio.run(
                export_to_file(settings, workspace, output, on_total=set_total, progress=advance)
            )
        except PostWizardError as error:
            errors.print(f"[red]Error:[/red] {error.message}")
            raise typer.Exit(1) from None
    console.print(
        f"[green]Exported[/green] “{found.name}” to {path}: {sum(summary.files.values())} rows, "
        f"{summary.media_files} media files.",
        highlight=False,
    )
    if summary.missing_media:
        errors.print(
            f"[yellow]{len(summary.missing_media)} media files were missing from storage[/yellow] "
            "and are listed under media.missing in manifest.json."
        )


def _media_progress(label: str, total: int) -> tuple[Progress, Callable[[int], None]]:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    progress = Progress(*columns, console=errors, transient=True)
    task = progress.add_task("media", total=total or None)

    def advance(size: int) -> None:
        progress.advance(task, size)

    return progress, advance


@app.command()
def backup(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="The archive to write (default: postwizard-backup-<UTC time>.tar.gz here).",
        ),
    ] = None,
) -> None:
    """Back up the database (SQLite online backup, or pg_dump on PostgreSQL) and the media into one
    .tar.gz with a manifest (version, schema revision, row counts, checksums). Safe while running."""
    from postwizard.cli.backup import create_backup, default_output, media_size

    settings = load_settings()
    target = output or default_output()
    progress, advance = _media_progress("Media", media_size(settings))
    try:
        with progress:
            result = create_backup(settings, target, advance)
    except PostWizardError as error:
        errors.print(f"[red]Error:[/red] {error.message}")
        raise typer.Exit(1) from None
    manifest = result.manifest
    console.print(
        f"[green]Backup written[/green] to {result.path}: schema {manifest['schema_revision']}, "
        f"{sum(manifest['counts'].values())} rows, {manifest['media']['files']} media files.",
        highlight=False,
    )
    console.print(
        "It holds encrypted credentials but not the secret key: keep the key "
        "(data dir `secret_key` or POSTWIZARD_SECRET_KEY) safe separately."
    )


@app.command()
def restore(
    archive: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, readable=True, help="A `postwizard backup` archive."
        ),
    ],
    allow_other_key: Annotated[
        bool,
        typer.Option(
            "--allow-other-key",
            help="Restore even though this instance's secret key differs (accounts must be reconnected).",
        ),
    ] = False,
) -> None:
    """Restore a backup into an EMPTY instance (new data dir / empty database): checksums and row
    counts are verified, and the schema is migrated forward when the backup is older."""
    from postwizard.cli.backup import restore_backup

    settings = load_settings()
    progress, advance = _media_progress("Media", 0)
    try:
        with progress:
            result = restore_backup(
                settings, archive, allow_other_key=allow_other_key, progress=advance
            )
    except PostWizardError as error:
        errors.print(f"[red]Error:[/red] {error.message}")
        raise typer.Exit(1) from None
    manifest = result.manifest
    migrated = (
        f", migrated {result.migrated_from} → {result.migrated_to}"
        if result.migrated_from != result.migrated_to
        else ""
    )
    console.print(
        f"[green]Restored[/green] the backup of {manifest['created_at']}: "
        f"{sum(manifest['counts'].values())} rows, {manifest['media']['files']} media files, "
        f"checksums verified{migrated}.",
        highlight=False,
    )

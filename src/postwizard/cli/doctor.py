"""`postwizard doctor`: the effective configuration and a check of everything it depends on."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console
from rich.table import Table

from postwizard.config import SECRET_KEY_FILE, Settings
from postwizard.web.spa import DIST_DIR


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def mask_url(url: str) -> str:
    """Hide the password in a connection URL."""
    if not url:
        return "(not set)"
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def configuration_rows(settings: Settings) -> list[tuple[str, str]]:
    secret_source = (
        "POSTWIZARD_SECRET_KEY"
        if settings.secret_key.get_secret_value()
        else f"{settings.data_dir / SECRET_KEY_FILE}"
    )
    return [
        ("data_dir", str(settings.data_dir.resolve())),
        ("database_url", mask_url(settings.effective_database_url)),
        ("redis_url", mask_url(settings.redis_url)),
        ("public_url", settings.effective_public_url),
        ("secret_key", f"*** (from {secret_source})"),
        ("host:port", f"{settings.host}:{settings.port}"),
        ("log_format / log_level", f"{settings.log_format.value} / {settings.log_level}"),
        ("embedded_worker", str(settings.embedded_worker).lower()),
    ]


def check_data_dir(settings: Settings) -> Check:
    path = settings.data_dir
    if not path.exists():
        return Check("data dir", True, f"{path} will be created on first start")
    if not os.access(path, os.W_OK):
        return Check("data dir", False, f"{path} is not writable by this user")
    return Check("data dir", True, f"{path} is writable")


def check_permissions(settings: Settings) -> Check:
    """Warn when the data dir (database, media) or the secret key file can be read by the group
    or by everyone: the key opens every stored credential."""
    path = settings.data_dir
    candidates = [(path, "700"), (path / SECRET_KEY_FILE, "600")]
    loose = [
        f"{item} is {'group' if not mode & 0o007 else 'world'}-accessible "
        f"(mode {mode:03o}): run `chmod {fix} {item}`"
        for item, fix in candidates
        if item.exists() and (mode := stat.S_IMODE(item.stat().st_mode)) & 0o077
    ]
    if loose:
        return Check("permissions", False, "; ".join(loose), required=False)
    if not path.exists():
        return Check("permissions", True, "nothing to check yet", required=False)
    return Check("permissions", True, "data dir and secret key are private", required=False)


async def check_database(settings: Settings) -> Check:
    from postwizard.db.migrate import current_revision, head_revision

    try:
        revision = await asyncio.wait_for(
            current_revision(settings.effective_database_url), timeout=10
        )
    except Exception as error:  # any failure is reported, not raised
        return Check("database", False, f"cannot connect: {error}")
    head = head_revision()
    if revision != head:
        return Check(
            "database",
            False,
            f"schema at {revision or 'nothing'}, code expects {head}: run `postwizard migrate`",
        )
    return Check("database", True, f"reachable, schema at {revision}")


async def check_redis(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check("redis", True, "not configured (fine for one process)", required=False)
    from redis.asyncio import Redis

    client: Redis = Redis.from_url(settings.redis_url)
    try:
        await asyncio.wait_for(client.ping(), timeout=5)
        return Check("redis", True, "reachable")
    except Exception as error:  # reported, not raised
        return Check("redis", False, f"cannot connect: {error}")
    finally:
        await client.aclose()


def check_front_end() -> Check:
    if (DIST_DIR / "index.html").exists():
        return Check("web interface", True, "built")
    return Check(
        "web interface",
        False,
        "not built: run `make run` (or `npm ci && npm run build` in frontend/)",
        required=False,
    )


def check_ffprobe() -> Check:
    found = shutil.which("ffprobe")
    return Check(
        "ffprobe",
        bool(found),
        found or "not found: video metadata will be unavailable (apt install ffmpeg)",
        required=False,
    )


def check_fcm(settings: Settings) -> Check:
    """FCM is optional; a service-account file that is set but unusable is an error."""
    from postwizard.notifications.fcm import ServiceAccountError, load_service_account

    path = settings.fcm_service_account_file
    if not path:
        return Check("fcm", True, "not configured (no push to the Android app)", required=False)
    try:
        account = load_service_account(path)
    except ServiceAccountError as error:
        return Check("fcm", False, str(error))
    return Check("fcm", True, f"service account {account.client_email} ({account.project_id})")


async def _async_checks(settings: Settings) -> list[Check]:
    probes: list[Callable[[Settings], Awaitable[Check]]] = [check_database, check_redis]
    return [await probe(settings) for probe in probes]


def run_doctor(settings: Settings, console: Console) -> bool:
    """Print configuration and checks; True when every required check passed."""
    config = Table(title="Configuration", show_header=False)
    for key, value in configuration_rows(settings):
        config.add_row(key, value)
    console.print(config)
    checks = [
        check_data_dir(settings),
        check_permissions(settings),
        *asyncio.run(_async_checks(settings)),
        check_front_end(),
        check_ffprobe(),
        check_fcm(settings),
    ]
    table = Table(title="Checks")
    table.add_column("")
    table.add_column("check")
    table.add_column("detail")
    for check in checks:
        mark = (
            "[green]✓[/green]"
            if check.ok
            else ("[red]✗[/red]" if check.required else "[yellow]![/yellow]")
        )
        table.add_row(mark, check.name, check.detail)
    console.print(table)
    return all(check.ok for check in checks if check.required)

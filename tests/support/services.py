"""Throwaway PostgreSQL and Redis servers for a test session.

They are started from the binaries Debian's `postgresql` and `redis-server` packages install:
nothing is downloaded, and every server listens on 127.0.0.1 only. Each server lives in its
own temporary directory, which is removed when it stops.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import asyncpg

LOOPBACK_HOST = "127.0.0.1"
POSTGRES_SUPERUSER = "postgres"
STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
LOG_TAIL_LINES = 40
PORT_ATTEMPTS = 3
# Backends of connections that were just closed exit asynchronously, so a template that was
# in use a moment ago can still look busy to CREATE DATABASE for a few milliseconds.
TEMPLATE_BUSY_RETRY_SECONDS = 5.0

POSTGRES_NOT_FOUND = "PostgreSQL binaries not found (install Debian's postgresql)"
REDIS_NOT_FOUND = "redis-server not found (install Debian's redis-server)"

T = TypeVar("T")


class ServiceUnavailable(Exception):
    """The service cannot be had on this machine; the message says why."""


def ci_is_on() -> bool:
    """True when the CI environment variable is set to a truthy value."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def free_port() -> int:
    """A TCP port on loopback that is free right now (another process may still take it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK_HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last lines of a server's log, for failure messages."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def run_blocking(make_coroutine: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code.

    Works from async fixtures and tests too: asyncio.run refuses to start inside a running loop,
    so in that case the coroutine gets a private loop on a helper thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with ThreadPoolExecutor(max_workers=1) as helper:
        return helper.submit(lambda: asyncio.run(make_coroutine())).result()


def quote_identifier(name: str) -> str:
    """A PostgreSQL identifier, quoted so any name (case, dashes) survives."""
    return '"' + name.replace('"', '""') + '"'


# --- PostgreSQL ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PostgresBinaries:
    """The directory holding initdb, pg_ctl and postgres."""

    bindir: Path

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


def _version_key(bindir: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin: compare versions as numbers so 16 beats 9.6.
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def _has_server_tools(bindir: Path) -> bool:
    return all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres"))


def find_postgres_binaries() -> PostgresBinaries:
    """Find the server binaries: pg_config's bindir, else Debian's newest, else PATH."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        # Debian's pg_config may come from libpq-dev alone, naming a bindir with no server in
        # it, so every candidate is checked for the tools themselves.
        answer = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False, timeout=30
        )
        if answer.returncode == 0 and answer.stdout.strip():
            candidates.append(Path(answer.stdout.strip()))
    candidates.extend(
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    )
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        candidates.append(Path(initdb_on_path).parent)
    for bindir in candidates:
        if _has_server_tools(bindir):
            return PostgresBinaries(bindir)
    raise ServiceUnavailable(POSTGRES_NOT_FOUND)


@dataclass(frozen=True)
class ProcessOwner:
    """Who runs the PostgreSQL processes.

    initdb and postgres refuse to run as root, so under root they are handed to a system
    user through runuser.
    """

    user: str | None  # None: the current user, no runuser needed
    uid: int
    gid: int
    runuser: str | None = None

    def command(self, argv: list[str]) -> list[str]:
        if self.user is None or self.runuser is None:
            return argv
        return [self.runuser, "-u", self.user, "--", *argv]


def choose_process_owner() -> ProcessOwner:
    if os.geteuid() != 0:
        return ProcessOwner(user=None, uid=os.getuid(), gid=os.getgid())
    runuser = shutil.which("runuser") or next(
        (path for path in ("/usr/sbin/runuser", "/sbin/runuser") if os.access(path, os.X_OK)),
        None,
    )
    if runuser is None:
        raise ServiceUnavailable(
            "running as root, where initdb refuses to run, and runuser (util-linux) is missing"
        )
    # The postgres user exists once Debian's postgresql package is installed; nobody is a
    # last resort for a server built some other way.
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return ProcessOwner(user=name, uid=entry.pw_uid, gid=entry.pw_gid, runuser=runuser)
    raise ServiceUnavailable(
        "running as root, where initdb refuses to run, and neither the 'postgres' nor the "
        "'nobody' user exists to run it instead"
    )


@dataclass
class PostgresServer:
    """A running throwaway PostgreSQL cluster with trust authentication on loopback."""

    host: str
    port: int
    user: str
    base_dir: Path
    binaries: PostgresBinaries
    owner: ProcessOwner

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir

    @property
    def log_file(self) -> Path:
        return self.base_dir / "postgres.log"

    @property
    def admin_dsn(self) -> str:
        """libpq URL of the `postgres` maintenance database (asyncpg.connect and psql take it)."""
        return f"postgresql://{quote(self.user)}@{self.host}:{self.port}/postgres"

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        """SQLAlchemy URL of one database on this server."""
        return f"{driver}://{quote(self.user)}@{self.host}:{self.port}/{quote(database, safe='')}"

    async def create_database_async(self, name: str, template: str | None = None) -> None:
        statement = f"CREATE DATABASE {quote_identifier(name)}"
        if template is not None:
            statement += f" TEMPLATE {quote_identifier(template)}"
        deadline = time.monotonic() + TEMPLATE_BUSY_RETRY_SECONDS
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            while True:
                try:
                    await connection.execute(statement)
                    return
                except asyncpg.exceptions.ObjectInUseError:
                    # "source database is being accessed by other users": see
                    # TEMPLATE_BUSY_RETRY_SECONDS. A template still held open past the deadline
                    # is a real bug in the caller (an engine not disposed), so it surfaces.
                    if template is None or time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)
        finally:
            await connection.close()

    async def drop_database_async(self, name: str) -> None:
        # FORCE (PostgreSQL 13+) ends sessions a test left open instead of failing on them.
        connection = await asyncpg.connect(self.admin_dsn)
        try:
            await connection.execute(
                f"DROP DATABASE IF EXISTS {quote_identifier(name)} WITH (FORCE)"
            )
        finally:
            await connection.close()

    def create_database(self, name: str, template: str | None = None) -> None:
        """CREATE DATABASE name [TEMPLATE template]; callable from sync or async code."""
        run_blocking(lambda: self.create_database_async(name, template))

    def drop_database(self, name: str) -> None:
        """DROP DATABASE IF EXISTS name WITH (FORCE); callable from sync or async code."""
        run_blocking(lambda: self.drop_database_async(name))

    async def _select_one(self) -> None:
        connection = await asyncpg.connect(self.admin_dsn, timeout=5)
        try:
            await connection.fetchval("SELECT 1")
        finally:
            await connection.close()

    def _run_tool(self, argv: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.owner.command(argv),
            cwd=self.base_dir,  # the owner may not be allowed into the caller's cwd
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )

    def _initdb(self) -> None:
        result = self._run_tool(
            [
                self.binaries.tool("initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                self.user,
                "--auth=trust",
                "--encoding=UTF8",
                # C needs no generated locale, so the cluster starts on any machine.
                "--locale=C",
                "--no-sync",
            ],
            timeout=120,
        )
        if result.returncode != 0:
            raise ServiceUnavailable(
                f"initdb failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
            )
        settings = {
            "listen_addresses": f"'{LOOPBACK_HOST}'",
            "unix_socket_directories": f"'{self.socket_dir}'",
            # Durability is worthless for a throwaway cluster; these make tests much faster.
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            # Room for connection pools of concurrent tests.
            "max_connections": "200",
        }
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# postwizard test session\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())

    def _start(self) -> None:
        result = self._run_tool(
            [
                self.binaries.tool("pg_ctl"),
                "--pgdata",
                str(self.data_dir),
                "--log",
                str(self.log_file),
                # The port goes on the command line so a retry on another port needs no edit.
                "-o",
                f"-p {self.port}",
                "--wait",
                "--timeout",
                str(int(STARTUP_TIMEOUT_SECONDS)),
                "start",
            ],
            timeout=STARTUP_TIMEOUT_SECONDS + 10,
        )
        if result.returncode != 0:
            raise ServiceUnavailable(
                f"PostgreSQL did not start on port {self.port} (pg_ctl exit {result.returncode})"
                f":\n{result.stdout}{result.stderr}\n--- end of the PostgreSQL log ---\n"
                f"{log_tail(self.log_file)}"
            )
        # pg_ctl's own wait uses the unix socket; the tests use TCP, so prove that path works.
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            try:
                run_blocking(self._select_one)
                return
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                if time.monotonic() > deadline:
                    raise ServiceUnavailable(
                        f"PostgreSQL started but answers no query on {self.host}:{self.port}: "
                        f"{exc!r}\n--- end of the PostgreSQL log ---\n{log_tail(self.log_file)}"
                    ) from exc
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (idempotent) and remove its directory."""
        if not self.base_dir.exists():
            return
        if (self.data_dir / "postmaster.pid").exists():
            try:
                # immediate: nothing needs to survive, so skip the shutdown checkpoint.
                result = self._run_tool(
                    [
                        self.binaries.tool("pg_ctl"),
                        "--pgdata",
                        str(self.data_dir),
                        "--mode",
                        "immediate",
                        "--wait",
                        "stop",
                    ],
                    timeout=STOP_TIMEOUT_SECONDS,
                )
                stopped = result.returncode == 0
            except subprocess.TimeoutExpired:
                stopped = False
            if not stopped:
                self._kill_postmaster()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        # Last resort so no server outlives the session: the pid is the first line of the file.
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _is_port_clash(message: str) -> bool:
    return "could not bind" in message or "Address already in use" in message


def start_postgres() -> PostgresServer:
    """initdb a cluster in a fresh temporary directory and start it on a free loopback port.

    Raises ServiceUnavailable (with the server's log tail when it failed to start).
    """
    binaries = find_postgres_binaries()
    owner = choose_process_owner()
    # Under root the cluster belongs to another user, who must be able to reach the directory:
    # /tmp is world-traversable, a root TMPDIR may not be.
    parent = "/tmp" if owner.user is not None and Path("/tmp").is_dir() else None
    base_dir = Path(tempfile.mkdtemp(prefix="postwizard-pg-", dir=parent))
    os.chown(base_dir, owner.uid, owner.gid)
    server = PostgresServer(
        host=LOOPBACK_HOST,
        port=free_port(),
        user=POSTGRES_SUPERUSER,
        base_dir=base_dir,
        binaries=binaries,
        owner=owner,
    )
    try:
        server._initdb()
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                server._start()
                return server
            except ServiceUnavailable as exc:
                # Another process may take the free port between our probe and the bind.
                if attempt == PORT_ATTEMPTS or not _is_port_clash(str(exc)):
                    raise
                server.port = free_port()
    except BaseException:
        server.stop()
        raise
    raise AssertionError("unreachable: the loop returns or raises")


# --- Redis --------------------------------------------------------------------------------


def find_redis_server() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    for path in ("/usr/bin/redis-server", "/usr/local/bin/redis-server"):
        if os.access(path, os.X_OK):
            return path
    raise ServiceUnavailable(REDIS_NOT_FOUND)


def redis_command(host: str, port: int, *args: str, timeout: float = 2.0) -> bytes:
    """Send one command in RESP and return the raw first reply (enough for PING, FLUSHALL)."""
    parts = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        encoded = arg.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(encoded), encoded))
    with socket.create_connection((host, port), timeout=timeout) as connection:
        connection.sendall(b"".join(parts))
        return connection.recv(4096)


@dataclass
class RedisServer:
    """A running throwaway redis-server on loopback with persistence off."""

    host: str
    port: int
    base_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return self.url_for_database(0)

    def url_for_database(self, index: int) -> str:
        return f"redis://{self.host}:{self.port}/{index}"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "redis.log"

    def flush_all(self) -> None:
        """Empty every database, e.g. between tests that share the session's server."""
        reply = redis_command(self.host, self.port, "FLUSHALL")
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"FLUSHALL answered {reply!r}")

    def _start(self, executable: str) -> None:
        with self.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    executable,
                    "--port",
                    str(self.port),
                    "--bind",
                    self.host,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.base_dir),
                ],
                cwd=self.base_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while True:
            exit_code = self.process.poll()
            if exit_code is not None:
                raise ServiceUnavailable(
                    f"redis-server exited with {exit_code} on port {self.port}:\n"
                    f"{log_tail(self.log_file)}"
                )
            try:
                if redis_command(self.host, self.port, "PING").startswith(b"+PONG"):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise ServiceUnavailable(
                    f"redis-server did not answer PING on port {self.port} within "
                    f"{STARTUP_TIMEOUT_SECONDS:.0f}s:\n{log_tail(self.log_file)}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (idempotent) and remove its directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_redis() -> RedisServer:
    """Start redis-server on a free loopback port; raises ServiceUnavailable if it can't."""
    executable = find_redis_server()
    for attempt in range(1, PORT_ATTEMPTS + 1):
        server = RedisServer(
            host=LOOPBACK_HOST,
            port=free_port(),
            base_dir=Path(tempfile.mkdtemp(prefix="postwizard-redis-")),
        )
        try:
            server._start(executable)
            return server
        except BaseException as exc:
            server.stop()
            # Another process may take the free port between our probe and the bind.
            clash = isinstance(exc, ServiceUnavailable) and "Address already in use" in str(exc)
            if attempt == PORT_ATTEMPTS or not clash:
                raise
    raise AssertionError("unreachable: the loop returns or raises")

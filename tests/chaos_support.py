"""Helpers of the chaos test (tests/test_chaos.py): real PostWizard processes that can be
SIGKILLed and restarted, a standalone faulty sandbox network, the test data made through the
HTTP API, and the end-of-run invariants read from the database and the sandbox's own record."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from postwizard.accounts.models import SocialAccount
from postwizard.db.engine import create_engine, create_session_factory
from postwizard.publishing.models import FINAL, Attempt, Delivery
from tests.server_process import POSTWIZARD
from tests.support.services import free_port, log_tail

LOOPBACK = "127.0.0.1"
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
OWNER_EMAIL = "chaos@example.com"
OWNER_PASSWORD = "chaos-password-123"  # a throwaway test user
SECRET_KEY = "chaos-test-secret-key-that-is-long-enough-0123456789"
WORKER_STOPPED = "The worker stopped during this call."
LOG_LINE_CHARS = 400  # kept from each end of a long log line
ERROR_LEVEL = '"log.level": "error"'  # in POSTWIZARD_LOG_FORMAT=json lines


class ChaosFailure(AssertionError):
    """An invariant did not hold; the message carries the evidence."""


def shorten(line: str) -> str:
    if len(line) <= 2 * LOG_LINE_CHARS:
        return line
    return f"{line[:LOG_LINE_CHARS]} … {line[-LOG_LINE_CHARS:]}"


def check_no_errors_logged(processes: Sequence[Service]) -> None:
    """PostWizard logs an error only for what it did not expect (a crash in processing, a
    failed dispatch round); being killed is expected, so no process may log one."""
    for process in processes:
        logged = process.errors()
        if logged:
            raise ChaosFailure(
                f"{process.name} logged {len(logged)} errors; the first:\n{logged[0]}\n"
                + process.log(10)
            )


@dataclass
class Service:
    """One PostWizard (or sandbox) process that can be killed and started again; every start
    appends to the same log file."""

    name: str
    argv: list[str]
    env: Mapping[str, str]
    cwd: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        assert not self.running, f"{self.name} is already running"
        with self.log_path.open("ab") as log:
            log.write(f"----- start {self.starts + 1} of {self.name} -----\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(self.env),
                cwd=self.cwd,
            )
        self.starts += 1

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def exited_on_its_own(self) -> int | None:
        """The exit code if the process ended without being told to (a crash), else None."""
        if self.process is None:
            return None
        return self.process.poll()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, in-flight calls and claims are abandoned."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        """SIGTERM (graceful), then SIGKILL if it does not stop in time."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self, lines: int = 30) -> str:
        """The end of its log, each line cut short (a stack trace is one JSON line)."""
        tail = "\n".join(shorten(line) for line in log_tail(self.log_path, lines).splitlines())
        return f"--- {self.name} log ({self.log_path}) ---\n{tail}"

    def errors(self) -> list[str]:
        """Lines logged at level error, by any run (shortened)."""
        if not self.log_path.exists():
            return []
        return [
            shorten(line)
            for line in self.log_path.read_text(errors="replace").splitlines()
            if ERROR_LEVEL in line
        ]

    def wait_until_healthy(self, url: str, timeout: float = STARTUP_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise ChaosFailure(f"{self.name} exited while starting:\n{self.log()}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise ChaosFailure(f"{self.name} was not healthy in {timeout} s:\n{self.log()}")


@contextmanager
def services() -> Iterator[list[Service]]:
    """Every process started in the block is killed when it ends, whatever happens."""
    started: list[Service] = []
    try:
        yield started
    finally:
        for service in reversed(started):
            service.kill()


def postwizard_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a PostWizard process: this one's, minus any POSTWIZARD_* setting of
    the developer's, plus the test's own (run with a scratch cwd, so no `.env` is read)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWIZARD_")}
    env.update(
        {
            "POSTWIZARD_DATA_DIR": str(data_dir),
            "POSTWIZARD_SECRET_KEY": SECRET_KEY,
            "POSTWIZARD_LOG_FORMAT": "json",
            "POSTWIZARD_LOG_LEVEL": "info",
        }
    )
    env.update({f"POSTWIZARD_{name.upper()}": value for name, value in settings.items()})
    return env


def run_cli(env: Mapping[str, str], cwd: Path, *args: str) -> str:
    """Run a `postwizard` command to completion; its standard output."""
    done = subprocess.run(
        [POSTWIZARD, *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise ChaosFailure(
            f"postwizard {' '.join(args[:2])} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


@dataclass(frozen=True)
class SandboxFaults:
    seed: int
    error_rate: float = 0.1
    rate_limit_rate: float = 0.1
    timeout_after_apply_rate: float = 0.1
    reset_rate: float = 0.1
    hang_seconds: float = 3.0
    latency_ms: int = 0  # added to every network API call

    @classmethod
    def none(cls, *, latency_ms: int = 0) -> SandboxFaults:
        """A well-behaved network (only the latency, if any)."""
        return cls(
            seed=0,
            error_rate=0.0,
            rate_limit_rate=0.0,
            timeout_after_apply_rate=0.0,
            reset_rate=0.0,
            latency_ms=latency_ms,
        )

    def flags(self) -> list[str]:
        return [
            f"--seed={self.seed}",
            f"--error-rate={self.error_rate}",
            f"--rate-limit-rate={self.rate_limit_rate}",
            f"--timeout-after-apply-rate={self.timeout_after_apply_rate}",
            f"--reset-rate={self.reset_rate}",
            f"--hang-seconds={self.hang_seconds}",
            f"--latency-ms={self.latency_ms}",
            # The account rate limit is not under test here: the bucket must never run dry.
            "--requests-per-window=1000000",
            "--window-seconds=60",
        ]


def start_sandbox(started: list[Service], work: Path, faults: SandboxFaults) -> str:
    """A standalone sandbox network in fault mode (never killed: it is the remote network)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTWIZARD_")}
    sandbox = Service(
        "sandbox",
        [
            POSTWIZARD,
            "sandbox",
            f"--host={LOOPBACK}",
            f"--port={port}",
            f"--data-dir={work / 'sandbox'}",
            *faults.flags(),
        ],
        env,
        work,
        work / "sandbox.log",
    )
    started.append(sandbox)
    sandbox.start()
    url = f"http://{LOOPBACK}:{port}"
    sandbox.wait_until_healthy(url)
    return url


def serve_service(env: Mapping[str, str], work: Path, name: str = "serve") -> tuple[Service, str]:
    port = free_port()
    environment = {
        **env,
        "POSTWIZARD_HOST": LOOPBACK,
        "POSTWIZARD_PORT": str(port),
        "POSTWIZARD_PUBLIC_URL": f"http://{LOOPBACK}:{port}",
    }
    service = Service(name, [POSTWIZARD, "serve"], environment, work, work / f"{name}.log")
    return service, f"http://{LOOPBACK}:{port}"


def worker_service(env: Mapping[str, str], work: Path, name: str) -> Service:
    """A `postwizard worker` (dispatcher and collector on their own), not started yet."""
    return Service(name, [POSTWIZARD, "worker"], env, work, work / f"{name}.log")


def create_owner(env: Mapping[str, str], cwd: Path) -> str:
    """An owner made with the CLI, and an API token for them (the secret)."""
    run_cli(
        env,
        cwd,
        "user",
        "create",
        f"--email={OWNER_EMAIL}",
        "--name=Chaos Owner",
        f"--password={OWNER_PASSWORD}",
        "--workspace=Chaos",
    )
    return run_cli(env, cwd, "token", "create", f"--email={OWNER_EMAIL}", "--quiet").strip()


@dataclass(frozen=True)
class Scheduled:
    workspace_id: str
    post_ids: list[str]


def schedule_posts(
    api_url: str, token: str, *, accounts: int, posts: int, start_in: float, spread: float
) -> Scheduled:
    """`accounts` sandbox accounts and `posts` posts (one account each, round robin) due
    between `start_in` and `start_in + spread` seconds from now, made through the HTTP API."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=api_url, headers=headers, timeout=60) as api:
        answer = api.get("/api/v1/workspaces")
        assert answer.status_code == 200, answer.text
        workspace_id: str = answer.json()["items"][0]["id"]
        handles = [f"chaos{n:02d}" for n in range(accounts)]
        for handle in handles:
            answer = api.post(
                f"/api/v1/workspaces/{workspace_id}/accounts/sandbox",
                json={"display_name": handle.title(), "handle": handle},
            )
            assert answer.status_code == 201, answer.text
        first = datetime.now(UTC) + timedelta(seconds=start_in)
        rows = ["text,accounts,time"]
        for n in range(posts):
            due = first + timedelta(seconds=spread * n / max(1, posts - 1))
            rows.append(f"Chaos post {n},{handles[n % accounts]},{due.isoformat()}")
        answer = api.post(
            f"/api/v1/workspaces/{workspace_id}/imports/posts",
            content=("\n".join(rows) + "\n").encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert report["problems"] == [], report["problems"][:5]
        assert len(report["created"]) == posts, report
    return Scheduled(workspace_id, [str(post_id) for post_id in report["created"]])


# --- the database's and the network's view of the run ---------------------------------------


async def _state_counts(url: str) -> Counter[str]:
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            rows = await session.execute(
                select(Delivery.state, func.count()).group_by(Delivery.state)
            )
            return Counter({str(state): count for state, count in rows.all()})
    finally:
        await engine.dispose()


def state_counts(url: str) -> Counter[str]:
    return asyncio.run(_state_counts(url))


@dataclass(frozen=True)
class DeliveryRow:
    state: str
    marker: str
    handle: str
    remote_id: str | None
    last_error: str | None


@dataclass
class Outcome:
    deliveries: list[DeliveryRow]
    attempt_outcomes: Counter[str]
    unfinished_attempts: int
    interrupted_calls: int
    takeovers: int  # deliveries whose attempts were made by more than one worker
    # Attempts of one delivery by two workers at once: the lease let a second worker in while
    # the first was still working (a killed worker's call ends when its successor starts).
    overlaps: list[str]

    @property
    def states(self) -> Counter[str]:
        return Counter(d.state for d in self.deliveries)


async def _outcome(url: str) -> Outcome:
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            deliveries = [
                DeliveryRow(str(state), marker, handle, remote_id, last_error)
                for state, marker, handle, remote_id, last_error in (
                    await session.execute(
                        select(
                            Delivery.state,
                            Delivery.marker,
                            SocialAccount.handle,
                            Delivery.remote_id,
                            Delivery.last_error,
                        ).join(SocialAccount, SocialAccount.id == Delivery.account_id)
                    )
                ).all()
            ]
            outcomes = Counter(
                {
                    str(outcome): count
                    for outcome, count in (
                        await session.execute(
                            select(Attempt.outcome, func.count()).group_by(Attempt.outcome)
                        )
                    ).all()
                }
            )
            unfinished = await session.scalar(
                select(func.count()).select_from(Attempt).where(Attempt.finished_at.is_(None))
            )
            interrupted = await session.scalar(
                select(func.count()).select_from(Attempt).where(Attempt.error == WORKER_STOPPED)
            )
            workers_per_delivery = (
                select(Attempt.delivery_id)
                .group_by(Attempt.delivery_id)
                .having(func.count(func.distinct(Attempt.worker)) > 1)
                .subquery()
            )
            takeovers = await session.scalar(select(func.count()).select_from(workers_per_delivery))
            attempts = (
                await session.execute(
                    select(
                        Attempt.delivery_id,
                        Attempt.number,
                        Attempt.worker,
                        Attempt.started_at,
                        Attempt.finished_at,
                    ).order_by(Attempt.delivery_id, Attempt.number)
                )
            ).all()
    finally:
        await engine.dispose()
    return Outcome(
        deliveries,
        outcomes,
        unfinished or 0,
        interrupted or 0,
        takeovers or 0,
        overlapping_attempts(attempts),
    )


def overlapping_attempts(attempts: Sequence[Any]) -> list[str]:
    """Attempts that began, by another worker, before the previous one of the same delivery
    had finished (rows ordered by delivery and number)."""
    found: list[str] = []
    for before, after in itertools.pairwise(attempts):
        if before.delivery_id != after.delivery_id or before.worker == after.worker:
            continue
        if before.finished_at is None or after.started_at < before.finished_at:
            found.append(
                f"delivery {before.delivery_id}: attempt {after.number} by {after.worker} began "
                f"at {after.started_at:%H:%M:%S.%f}, attempt {before.number} by {before.worker} "
                f"ended at {before.finished_at}"
            )
    return found


async def _attempts_by_worker(url: str, unfinished_only: bool) -> Counter[str]:
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            statement = select(Attempt.worker, func.count()).group_by(Attempt.worker)
            if unfinished_only:
                statement = statement.where(Attempt.finished_at.is_(None))
            rows = (await session.execute(statement)).all()
            return Counter({str(worker): count for worker, count in rows})
    finally:
        await engine.dispose()


def attempts_by_worker(url: str, *, unfinished_only: bool = False) -> Counter[str]:
    """Attempts per worker id (`host:pid:nonce`); only calls still in flight if asked."""
    return asyncio.run(_attempts_by_worker(url, unfinished_only))


def read_outcome(url: str) -> Outcome:
    return asyncio.run(_outcome(url))


def sandbox_record(sandbox_url: str) -> dict[str, Any]:
    answer = httpx.get(f"{sandbox_url}/v1/_record", timeout=30)
    assert answer.status_code == 200, answer.text
    record: dict[str, Any] = answer.json()
    return record


def sandbox_fault_outcomes(sandbox_url: str) -> dict[str, int]:
    answer = httpx.get(f"{sandbox_url}/v1/_faults", timeout=30)
    assert answer.status_code == 200, answer.text
    outcomes: dict[str, int] = answer.json()["outcomes"]
    return outcomes


@dataclass
class Chaos:
    """What the chaos loop did."""

    kills: int = 0
    restarts: int = 0
    moments: list[float] = field(default_factory=list)  # seconds since the loop began
    settle_began: float = 0.0  # monotonic: the kills stopped
    settled: float = 0.0  # monotonic: every delivery was final


def wait_until_final(
    database_url: str, expected: int, deadline_s: float, alive: list[Service]
) -> Counter[str]:
    """Poll the delivery states until all `expected` deliveries are final; fail with the
    counts (and the processes' logs) when the deadline passes or a process dies."""
    deadline = time.monotonic() + deadline_s
    final = {state.value for state in FINAL}
    while True:
        counts = state_counts(database_url)
        done = sum(n for state, n in counts.items() if state in final)
        if done == expected and sum(counts.values()) == expected:
            return counts
        check_no_errors_logged(alive)
        for service in alive:
            code = service.exited_on_its_own()
            if code is not None:
                raise ChaosFailure(
                    f"{service.name} exited by itself with {code}; states {dict(counts)}\n"
                    + service.log()
                )
        if time.monotonic() > deadline:
            logs = "\n".join(service.log(30) for service in alive)
            raise ChaosFailure(
                f"after {deadline_s:.0f} s only {done} of {expected} deliveries are final: "
                f"{dict(counts)}\n{logs}"
            )
        time.sleep(0.5)


def check_invariants(outcome: Outcome, record: dict[str, Any], expected: int) -> None:
    """Never lost, never twice: the database and the network's own record agree."""
    problems: list[str] = []
    states = outcome.states
    if len(outcome.deliveries) != expected:
        problems.append(f"{len(outcome.deliveries)} deliveries, expected {expected}")
    unexpected = {s: n for s, n in states.items() if s not in {"published", "failed"}}
    if unexpected:
        problems.append(f"deliveries neither published nor failed: {unexpected}")
    silent = [d.marker for d in outcome.deliveries if d.state == "failed" and not d.last_error]
    if silent:
        problems.append(f"{len(silent)} failed deliveries without a reason, e.g. {silent[:3]}")
    if outcome.overlaps:
        problems.append(
            f"{len(outcome.overlaps)} times two workers worked on one delivery at once: "
            f"{outcome.overlaps[:3]}"
        )
    if outcome.unfinished_attempts:
        problems.append(f"{outcome.unfinished_attempts} attempts never finished")
    if record["duplicates"] or record["duplicate_posts"]:
        problems.append(f"the sandbox received duplicates: {record['duplicate_posts'][:10]}")
    published = {d.marker: d for d in outcome.deliveries if d.state == "published"}
    received = {item["client_key"]: item for item in record["items"]}
    if record["posts"] != len(published):
        problems.append(
            f"the sandbox has {record['posts']} posts but {len(published)} deliveries are published"
        )
    lost = sorted(set(published) - set(received))
    if lost:
        problems.append(f"{len(lost)} published deliveries are not on the network: {lost[:5]}")
    stray = sorted(set(received) - set(published))
    if stray:
        states_of_stray = Counter(
            d.state for d in outcome.deliveries if d.marker in set(stray)
        ).most_common()
        problems.append(
            f"{len(stray)} posts on the network are not published deliveries "
            f"(their states: {states_of_stray}): {stray[:5]}"
        )
    for marker, delivery in published.items():
        item = received.get(marker)
        if item is None:
            continue
        if item["id"] != delivery.remote_id or item["handle"] != delivery.handle:
            problems.append(
                f"delivery {marker} says {delivery.handle}/{delivery.remote_id}, the network "
                f"has {item['handle']}/{item['id']}"
            )
            break
    if problems:
        raise ChaosFailure("invariants broken:\n- " + "\n- ".join(problems))


def summary(label: str, outcome: Outcome, record: dict[str, Any], **facts: object) -> str:
    states = dict(sorted(outcome.states.items()))
    attempts = dict(sorted(outcome.attempt_outcomes.items()))
    extra = " ".join(f"{k}={v}" for k, v in facts.items())
    return (
        f"\nchaos[{label}] {extra}\n"
        f"  deliveries {states}; sandbox posts={record['posts']} "
        f"duplicates={len(record['duplicate_posts'])}\n"
        f"  attempts {attempts}\n"
        f"  calls cut by a kill={outcome.interrupted_calls} "
        f"deliveries taken over by another worker={outcome.takeovers}"
    )

"""Chaos: real PostWizard processes are SIGKILLed at random moments and restarted while a few
hundred deliveries go out to a sandbox network that injects faults (500/503, 429, answers
held back past the call timeout after storing, connections dropped after storing). At the end
every delivery is `published` or `failed` with a reason, and the sandbox's own record — an
independent database — shows no duplicate and no lost post (DESIGN.md, "Publishing
invariants"). Bounded in time; run with `-s` to see what happened."""

from __future__ import annotations

import random
import time
import uuid
from pathlib import Path

import pytest

from tests.chaos_support import (
    Chaos,
    ChaosFailure,
    SandboxFaults,
    Service,
    check_invariants,
    check_no_errors_logged,
    create_owner,
    postwizard_env,
    read_outcome,
    run_cli,
    sandbox_fault_outcomes,
    sandbox_record,
    schedule_posts,
    serve_service,
    services,
    start_sandbox,
    summary,
    wait_until_final,
    worker_service,
)
from tests.support.services import PostgresServer

# Kills and restarts processes and judges leases by the clock: alone, not beside other tests.
pytestmark = pytest.mark.serial

SEED = 20_240_601
ACCOUNTS = 10
# A call with no answer after CALL_TIMEOUT is an unknown outcome (the sandbox holds
# timeout-after-apply answers back for HANG, longer). The leases (per test) are short, so a
# killed worker's claims come back within seconds, but comfortably longer than a reconcile plus
# a publish call plus the wait behind the same account's other claims in one worker: the
# dispatcher does not renew a lease, so a lease that runs out under a live worker would let a
# second worker in (check_invariants fails on that: "two workers worked on one delivery").
CALL_TIMEOUT_S = 2.0
RETRY_BASE_S = 1.0
HANG_S = 4.0


def dispatcher_settings(lease_seconds: int) -> dict[str, str]:
    return {
        "lease_seconds": str(lease_seconds),
        "call_timeout_seconds": str(CALL_TIMEOUT_S),
        "retry_base_seconds": str(RETRY_BASE_S),
    }


def check_no_crash(processes: list[Service]) -> None:
    check_no_errors_logged(processes)
    for process in processes:
        code = process.exited_on_its_own()
        if code is not None:
            raise ChaosFailure(f"{process.name} exited by itself with {code}\n{process.log()}")


def judge(
    label: str,
    database_url: str,
    sandbox_url: str,
    posts: int,
    chaos: Chaos,
    processes: list[Service],
    began: float,
) -> None:
    """Print what happened, then check the invariants (all processes stopped by now)."""
    outcome = read_outcome(database_url)
    record = sandbox_record(sandbox_url)
    print(
        summary(
            label,
            outcome,
            record,
            kills=chaos.kills,
            restarts=chaos.restarts,
            settled_after_chaos=f"{chaos.settled - chaos.settle_began:.1f}s",
            total=f"{time.monotonic() - began:.1f}s",
        )
        + f"\n  kill moments (s) {chaos.moments}"
        + f"\n  sandbox fault draws {sandbox_fault_outcomes(sandbox_url)}"
    )
    check_invariants(outcome, record, posts)
    check_no_errors_logged(processes)
    assert outcome.takeovers > 0, "no delivery was ever picked up again after a kill"


def kill_workers_at_random(
    workers: list[Service], rng: random.Random, seconds: float, pause: tuple[float, float]
) -> Chaos:
    """For `seconds`: after a random pause, SIGKILL a random worker (sometimes all of them, as
    when a machine dies) and start it again at once."""
    chaos = Chaos()
    began = time.monotonic()
    while True:
        wait = rng.uniform(*pause)
        if time.monotonic() - began + wait > seconds:
            return chaos
        time.sleep(wait)
        check_no_crash(workers)
        victims = workers if rng.random() < 0.15 else [rng.choice(workers)]
        for victim in victims:
            victim.kill()
            chaos.kills += 1
        chaos.moments.append(round(time.monotonic() - began, 1))
        for victim in victims:
            victim.start()
            chaos.restarts += 1


def test_postgres_workers_killed_at_random_lose_nothing_and_repeat_nothing(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    posts, lease_s, chaos_s, settle_s = 300, 10, 20.0, 60.0
    rng = random.Random(SEED)
    database = f"pw_chaos_{uuid.uuid4().hex[:8]}"
    postgres_server.create_database(database)
    database_url = postgres_server.url(database)
    began = time.monotonic()
    try:
        with services() as started:
            sandbox_url = start_sandbox(
                started, tmp_path, SandboxFaults(seed=SEED, hang_seconds=HANG_S)
            )
            env = postwizard_env(
                tmp_path / "data",
                database_url=database_url,
                sandbox_url=sandbox_url,
                embedded_worker="false",
                **dispatcher_settings(lease_s),
            )
            run_cli(env, tmp_path, "migrate")
            token = create_owner(env, tmp_path)
            api, api_url = serve_service(env, tmp_path)
            started.append(api)
            api.start()
            api.wait_until_healthy(api_url)
            schedule_posts(
                api_url, token, accounts=ACCOUNTS, posts=posts, start_in=2.0, spread=chaos_s * 0.6
            )
            api.stop()  # the web process has no worker; only the workers matter from here on
            workers = [worker_service(env, tmp_path, f"worker-{n}") for n in range(2)]
            started.extend(workers)
            for worker in workers:
                worker.start()
            chaos = kill_workers_at_random(workers, rng, chaos_s, pause=(0.5, 2.0))
            chaos.settle_began = time.monotonic()
            wait_until_final(database_url, posts, settle_s, workers)
            chaos.settled = time.monotonic()
            for worker in workers:
                worker.stop()
            judge("postgres", database_url, sandbox_url, posts, chaos, [api, *workers], began)
            assert chaos.kills >= 5, chaos
    finally:
        postgres_server.drop_database(database)


def test_sqlite_embedded_worker_killed_at_random_loses_nothing_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    posts, lease_s, chaos_s, settle_s = 100, 6, 15.0, 45.0
    rng = random.Random(SEED + 1)
    data_dir = tmp_path / "data"
    database_url = f"sqlite+aiosqlite:///{(data_dir / 'postwizard.db').resolve()}"
    began = time.monotonic()
    with services() as started:
        sandbox_url = start_sandbox(
            started, tmp_path, SandboxFaults(seed=SEED + 1, hang_seconds=HANG_S)
        )
        env = postwizard_env(
            data_dir,
            sandbox_url=sandbox_url,
            embedded_worker="true",
            **dispatcher_settings(lease_s),
        )
        token = create_owner(env, tmp_path)  # creates and migrates the SQLite database
        serve, api_url = serve_service(env, tmp_path)
        started.append(serve)
        serve.start()
        serve.wait_until_healthy(api_url)
        schedule_posts(
            api_url, token, accounts=ACCOUNTS, posts=posts, start_in=2.0, spread=chaos_s * 0.6
        )
        chaos = Chaos()
        chaos_began = time.monotonic()
        while True:
            wait = rng.uniform(0.2, 1.5)
            # At least three kills even when a loaded machine restarts slowly.
            if time.monotonic() - chaos_began + wait > chaos_s and chaos.kills >= 3:
                break
            time.sleep(wait)
            check_no_crash([serve])
            serve.kill()
            chaos.kills += 1
            chaos.moments.append(round(time.monotonic() - chaos_began, 1))
            serve.start()
            chaos.restarts += 1
            serve.wait_until_healthy(api_url)  # the next kill hits a running dispatcher
        chaos.settle_began = time.monotonic()
        wait_until_final(database_url, posts, settle_s, [serve])
        chaos.settled = time.monotonic()
        serve.stop()
        judge("sqlite", database_url, sandbox_url, posts, chaos, [serve], began)
        assert chaos.kills >= 3, chaos

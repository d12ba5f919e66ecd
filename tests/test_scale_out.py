"""Scale-out on one machine: two `postwizard serve` processes (no embedded worker) and two
`postwizard worker` processes share PostgreSQL and Redis, publishing to a standalone sandbox
network. Posts are scheduled through one web process while the other one's event stream
carries their publishing; one worker is SIGKILLed mid-call and the other finishes the work.
The sandbox's own record shows every post exactly once, and the publishing health API shows
the killed worker as not alive (docs/deploy.md, "scaling out"). Run with `-s` for a summary."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select

from postwizard.config import Settings
from postwizard.db.engine import create_engine, create_session_factory
from postwizard.publishing.models import Attempt, Delivery
from postwizard.publishing.repository import worker_alive_window
from tests.chaos_support import (
    ChaosFailure,
    SandboxFaults,
    Service,
    attempts_by_worker,
    check_invariants,
    check_no_errors_logged,
    create_owner,
    postwizard_env,
    read_outcome,
    run_cli,
    sandbox_record,
    schedule_posts,
    serve_service,
    services,
    start_sandbox,
    summary,
    wait_until_final,
    worker_service,
)
from tests.support.services import PostgresServer, RedisServer

# Kills and restarts processes and judges leases by the clock: alone, not beside other tests.
pytestmark = pytest.mark.serial

ACCOUNTS = 10
POSTS = 40
# Every sandbox call takes this long, so a worker always has calls in flight to be killed in.
LATENCY_MS = 150
# Short leases hand a killed worker's claims to the survivor within seconds; still far longer
# than one account's claimed calls take (the dispatcher does not renew a lease).
LEASE_S = 6
# Heartbeats every second: a worker silent for six of them (6 s) shows as not alive.
HEARTBEAT_S = 1.0
WAIT_S = 20.0  # for any one stage; the whole test takes about 25 s


@dataclass
class EventStream:
    """A workspace's SSE stream read on a thread: every event (type, data) as it arrives,
    until `post.published` has come for every post in `until` (then it disconnects, as a
    closed browser tab does)."""

    url: str
    token: str
    until: set[str] | None = None
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    failure: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    reader: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self.read, name="sse-reader", daemon=True)

    def read(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        current: dict[str, str] = {}
        try:
            with httpx.stream("GET", self.url, headers=headers, timeout=None) as stream:
                if stream.status_code != 200:
                    raise ChaosFailure(f"the event stream answered {stream.status_code}")
                for line in stream.iter_lines():
                    if line == "":
                        if current.get("event") == "ready":
                            self.ready.set()
                        elif "event" in current:
                            with self.lock:
                                self.events.append(
                                    (current["event"], json.loads(current.get("data") or "{}"))
                                )
                            if self.until is not None and self.post_ids("post.published") >= (
                                self.until
                            ):
                                return
                        current = {}
                    elif not line.startswith(":"):
                        key, _, value = line.partition(":")
                        current[key] = value.strip()
        except httpx.HTTPError:
            pass  # the server was stopped at the end of the test
        except BaseException as error:  # reported by the test, not lost in the thread
            self.failure.append(error)

    def counts(self) -> dict[str, int]:
        with self.lock:
            return dict(Counter(kind for kind, _ in self.events))

    def post_ids(self, event_type: str) -> set[str]:
        with self.lock:
            return {str(data.get("post_id")) for kind, data in self.events if kind == event_type}


@contextmanager
def event_stream(web_url: str, token: str, workspace_id: str) -> Iterator[EventStream]:
    stream = EventStream(f"{web_url}/api/v1/workspaces/{workspace_id}/events", token)
    stream.reader.start()
    if not stream.ready.wait(WAIT_S):
        raise ChaosFailure(f"no `ready` event from {web_url}: {stream.failure}")
    yield stream


def publishing_workers(web_url: str, token: str, workspace_id: str) -> dict[int, bool]:
    """The publishing health API's workers: pid -> alive."""
    answer = httpx.get(
        f"{web_url}/api/v1/workspaces/{workspace_id}/publishing/health",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return {worker["pid"]: worker["alive"] for worker in answer.json()["workers"]}


def posts_published_by(database_url: str, pid: int) -> set[str]:
    """Posts with a delivery published by an attempt of the worker with this pid."""

    async def query() -> set[str]:
        engine = create_engine(database_url)
        try:
            async with create_session_factory(engine)() as session:
                rows = await session.execute(
                    select(Delivery.post_id, Attempt.worker)
                    .join(Attempt, Attempt.delivery_id == Delivery.id)
                    .where(Attempt.outcome.in_(("published", "reconciled_found")))
                )
                return {str(post) for post, worker in rows if worker.split(":")[-2] == str(pid)}
        finally:
            await engine.dispose()

    return asyncio.run(query())


def post_statuses(
    web_url: str, token: str, workspace_id: str, post_ids: set[str]
) -> dict[str, str]:
    """Each post's status as the API shows it (for failure messages)."""
    headers = {"Authorization": f"Bearer {token}"}
    base = f"{web_url}/api/v1/workspaces/{workspace_id}/posts"
    return {
        post_id: httpx.get(f"{base}/{post_id}", headers=headers, timeout=10).json()["status"]
        for post_id in sorted(post_ids)
    }


def wait_for(what: str | Callable[[], str], condition: Any, alive: list[Service]) -> float:
    """Poll `condition()` until it is true; seconds waited. Fails when a process dies."""
    began = time.monotonic()
    while not condition():
        for service in alive:
            code = service.exited_on_its_own()
            if code is not None:
                raise ChaosFailure(f"{service.name} exited with {code}\n{service.log()}")
        if time.monotonic() - began > WAIT_S:
            logs = "\n".join(service.log(15) for service in alive)
            said = what if isinstance(what, str) else what()
            raise ChaosFailure(f"not within {WAIT_S:.0f} s: {said}\n{logs}")
        time.sleep(0.05)
    return time.monotonic() - began


def test_two_web_and_two_worker_processes_publish_each_post_once_when_a_worker_dies(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path
) -> None:
    database = f"pw_scale_{uuid.uuid4().hex[:8]}"
    postgres_server.create_database(database)
    database_url = postgres_server.url(database)
    began = time.monotonic()
    try:
        with services() as started:
            sandbox_url = start_sandbox(
                started, tmp_path, SandboxFaults.none(latency_ms=LATENCY_MS)
            )
            env = postwizard_env(
                tmp_path / "data",
                database_url=database_url,
                redis_url=redis_server.url,
                sandbox_url=sandbox_url,
                embedded_worker="false",
                lease_seconds=str(LEASE_S),
                call_timeout_seconds="2",
                retry_base_seconds="1",
                worker_heartbeat_seconds=str(HEARTBEAT_S),
            )
            run_cli(env, tmp_path, "migrate")
            web1, web1_url = serve_service(env, tmp_path, "web-1")
            web2, web2_url = serve_service(env, tmp_path, "web-2")
            victim, survivor = (worker_service(env, tmp_path, f"worker-{n}") for n in (1, 2))
            processes = [web1, web2, victim, survivor]
            started.extend(processes)
            for process in processes:  # side by side: startup is most of the test's time
                process.start()
            token = create_owner(env, tmp_path)
            web1.wait_until_healthy(web1_url)
            web2.wait_until_healthy(web2_url)
            workspace_id = httpx.get(
                f"{web1_url}/api/v1/workspaces",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            ).json()["items"][0]["id"]
            assert victim.process is not None
            assert survivor.process is not None
            victim_pid, survivor_pid = victim.process.pid, survivor.process.pid

            def both_workers_alive() -> bool:
                workers = publishing_workers(web1_url, token, workspace_id)
                return workers.get(victim_pid) is True and workers.get(survivor_pid) is True

            wait_for("both workers beat", both_workers_alive, processes)
            running_after = time.monotonic() - began

            with event_stream(web2_url, token, workspace_id) as stream:
                scheduled = schedule_posts(
                    web1_url, token, accounts=ACCOUNTS, posts=POSTS, start_in=1.0, spread=5.0
                )
                assert scheduled.workspace_id == workspace_id

                def victim_mid_call() -> bool:
                    in_flight = attempts_by_worker(database_url, unfinished_only=True)
                    published = len(stream.post_ids("post.published"))
                    victim_calls = sum(
                        n for w, n in in_flight.items() if w.split(":")[-2] == str(victim_pid)
                    )
                    return published >= POSTS // 5 and victim_calls > 0

                wait_for("the victim worker is in the middle of a call", victim_mid_call, processes)
                victim.kill()
                killed_at = time.monotonic()
                alive = [web1, web2, survivor]
                wait_until_final(database_url, POSTS, WAIT_S, alive)
                settled_s = time.monotonic() - killed_at

                def victim_shown_dead() -> bool:
                    workers = publishing_workers(web1_url, token, workspace_id)
                    return workers.get(victim_pid) is False and workers.get(survivor_pid) is True

                wait_for("health shows the killed worker not alive", victim_shown_dead, alive)

                # Events leave after their commit, so the killed worker's last batch can be
                # committed and never announced; every post the survivor published must arrive.
                survivor_posts = posts_published_by(database_url, survivor_pid)

                def missing() -> set[str]:
                    return survivor_posts - stream.post_ids("post.published")

                wait_for(
                    lambda: (
                        "every post's publishing reached web-2's event stream "
                        f"(events so far: {stream.counts()}; missing posts: "
                        + str(post_statuses(web1_url, token, workspace_id, missing()))
                        + ")"
                    ),
                    lambda: not missing() and len(stream.post_ids("post.published")) >= POSTS // 2,
                    alive,
                )
                # The reader disconnects at the next event (a web process stopped under an open
                # stream logs an error): one more change made on web-1.
                stream.until = set()
                renamed = httpx.patch(
                    f"{web1_url}/api/v1/workspaces/{workspace_id}",
                    json={"name": "Scaled out"},
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                )
                assert renamed.status_code == 200, renamed.text
                stream.reader.join(WAIT_S)
                assert not stream.reader.is_alive(), "the event stream did not end"
                assert not stream.failure, stream.failure
                for process in alive:
                    process.stop()

            outcome = read_outcome(database_url)
            record = sandbox_record(sandbox_url)
            by_worker = attempts_by_worker(database_url)
            print(
                summary(
                    "scale-out",
                    outcome,
                    record,
                    processes_up_after=f"{running_after:.1f}s",
                    settled_after_kill=f"{settled_s:.1f}s",
                    total=f"{time.monotonic() - began:.1f}s",
                )
                + f"\n  attempts by worker {dict(by_worker)}"
            )
            check_invariants(outcome, record, POSTS)
            assert outcome.states == {"published": POSTS}, outcome.states
            assert record["posts"] == POSTS, record["posts"]  # none lost
            assert not record["duplicate_posts"], record["duplicate_posts"]  # none twice
            check_no_errors_logged(processes)
            # Both workers did part of the work, and the survivor took the victim's calls over.
            assert {w.split(":")[-2] for w in by_worker} == {str(victim_pid), str(survivor_pid)}
            assert outcome.takeovers > 0, "no delivery of the killed worker was taken over"
    finally:
        postgres_server.drop_database(database)


def test_a_heartbeat_interval_outside_its_range_is_refused_by_name(
    make_settings: Callable[..., Settings],
) -> None:
    for bad in ("0", "61", "soon"):
        with pytest.raises(ValidationError) as refused:
            make_settings(worker_heartbeat_seconds=bad)
        assert "worker_heartbeat_seconds" in str(refused.value)
    # The default: a worker is shown as not alive after six silent beats of 5 s.
    assert worker_alive_window(make_settings().worker_heartbeat_seconds) == timedelta(seconds=30)

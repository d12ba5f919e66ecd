"""Health, readiness, Prometheus metrics, request ids and ECS-shaped JSON logs."""

from __future__ import annotations

import json
import logging

import pytest

from postwizard.config import LogFormat
from postwizard.observability.logging import configure_logging
from tests.api_client import ApiClient, set_up_owner


async def test_health_and_readiness(client: ApiClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "workers_alive": 0}}


async def test_metrics_expose_request_latency_by_route(client: ApiClient) -> None:
    await set_up_owner(client)
    await client.get("/api/v1/me")
    text = (await client.get("/metrics")).text
    assert "# TYPE postwizard_http_request_duration_seconds histogram" in text
    assert 'route="/api/v1/me"' in text
    assert 'route="/api/v1/setup"' in text


async def test_every_response_has_a_request_id_and_a_valid_incoming_one_is_kept(
    client: ApiClient,
) -> None:
    generated = await client.get("/healthz")
    assert len(generated.headers["x-request-id"]) == 32
    kept = await client.get("/healthz", headers={"X-Request-ID": "trace-abc-123456"})
    assert kept.headers["x-request-id"] == "trace-abc-123456"
    injected = await client.get("/healthz", headers={"X-Request-ID": "bad\nid with spaces"})
    assert injected.headers["x-request-id"] != "bad\nid with spaces"


async def test_json_logs_use_ecs_fields_and_carry_the_request_id(
    client: ApiClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(LogFormat.JSON, "info")
    try:
        response = await client.get("/api/v1/me", headers={"X-Request-ID": "req-for-log-test"})
        assert response.status_code == 401
        lines = [
            json.loads(line)
            for line in capsys.readouterr().out.splitlines()
            if line.startswith("{")
        ]
    finally:
        configure_logging(LogFormat.CONSOLE, "info")
        logging.getLogger().handlers.clear()
    entry = next(line for line in lines if line.get("http.request.id") == "req-for-log-test")
    assert entry["message"] == "request"
    assert entry["url.path"] == "/api/v1/me"
    assert entry["http.request.method"] == "GET"
    assert entry["http.response.status_code"] == 401
    assert entry["log.level"] == "info"
    assert entry["ecs.version"]
    assert entry["@timestamp"].endswith("Z")
    assert isinstance(entry["event.duration"], int)

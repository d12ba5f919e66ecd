"""The API keeps the promises of its OpenAPI document, found by schemathesis.

A bounded, deterministic run (fixed seed, a few examples per operation) against the app
in-process, signed in with an owner's API token on a workspace with one sandbox account: no
answer is a 5xx, every status code is documented, and every body matches its schema."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.python.asgi import ASGIClient, shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from postwizard.app import create_app
from postwizard.config import Settings
from tests.api_client import DEFAULT_PASSWORD

EXAMPLES_PER_OPERATION = 10
# Each example of these hashes a password with argon2 (deliberately slow), so fewer of them.
FEWER_EXAMPLES = {("POST", "/api/v1/auth/login"): 3, ("POST", "/api/v1/me/password"): 3}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

W = "/api/v1/workspaces/{workspace_id}"
# Operations not fuzzed, and why.
EXCLUDED: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/logout"): "ends the run's own session",
    ("GET", f"{W}/events"): "an endless event stream (tests/test_live_events.py covers it)",
    # These reach whatever host the generated body names; tests must not leave 127.0.0.1.
    ("POST", f"{W}/accounts/connect/{{network}}"): "contacts the instance named in the body",
    ("POST", f"{W}/accounts/connect/{{network}}/oauth"): "contacts the network's instance",
    ("POST", f"{W}/accounts/{{account_id}}/reconnect"): "contacts the instance named in the body",
    ("PUT", f"{W}/captions/settings"): "points caption requests at a generated host",
    ("POST", f"{W}/captions/settings/test"): "contacts the model server named in the body",
    ("POST", f"{W}/webhooks"): "resolves the host named in the body",
    ("PATCH", f"{W}/webhooks/{{webhook_id}}"): "resolves the host named in the body",
    ("POST", f"{W}/webhooks/{{webhook_id}}/test"): "calls the webhook's URL",
    ("POST", "/api/v1/push/subscriptions"): "resolves the host of the endpoint in the body",
}


@pytest.fixture
def owner_app(
    make_settings: Callable[..., Settings], sqlite_url: str
) -> Iterator[tuple[FastAPI, dict[str, str]]]:
    """The app running in schemathesis's event loop, its owner's token and workspace ids."""
    # Limits high enough that every example reaches its endpoint rather than a 429.
    app = create_app(
        make_settings(
            database_url=sqlite_url,
            api_token_requests_per_minute=100_000,
            ai_generations_per_minute=100_000,
            login_attempts_per_minute=100_000,
            log_level="warning",
        )
    )
    try:
        with ASGIClient(app) as browser:  # type: ignore[arg-type]  # FastAPI is an ASGI app
            browser.get("/healthz")  # the CSRF cookie
            csrf = {"X-CSRF-Token": browser.cookies.get("pw_csrf") or ""}
            me = browser.post(
                "/api/v1/setup",
                headers=csrf,
                json={
                    "email": "owner@example.com",
                    "password": DEFAULT_PASSWORD,
                    "name": "Olivia Owner",
                    "workspace_name": "Acme",
                },
            )
            assert me.status_code == 201, me.text
            workspace_id = me.json()["current_workspace_id"]
            token = browser.post("/api/v1/me/tokens", headers=csrf, json={"name": "fuzz"})
            assert token.status_code == 201, token.text
            secret = token.json()["secret"]
            account = browser.post(
                f"/api/v1/workspaces/{workspace_id}/accounts/sandbox",
                headers={"Authorization": f"Bearer {secret}"},
                json={"display_name": "Bakery", "handle": "bakery", "timezone": "UTC"},
            )
            assert account.status_code == 201, account.text
            post = browser.post(
                f"/api/v1/workspaces/{workspace_id}/posts",
                headers={"Authorization": f"Bearer {secret}"},
                json={"text": "Fresh bread!", "targets": [{"account_id": account.json()["id"]}]},
            )
            assert post.status_code == 201, post.text
        yield (
            app,
            {
                "token": secret,
                "workspace_id": workspace_id,
                "account_id": account.json()["id"],
                "post_id": post.json()["id"],
            },
        )
    finally:
        shutdown_lifespans()


def test_every_operation_answers_as_documented(
    owner_app: tuple[FastAPI, dict[str, str]],
) -> None:
    app, ids = owner_app
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    failures: list[str] = []
    fuzzed = 0
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"The document does not describe an operation: {result.err()}")
            continue
        operation = result.ok()
        key = (operation.method.upper(), operation.path)
        if key in EXCLUDED:
            continue
        fuzzed += 1
        failures.extend(fuzz(operation, ids, FEWER_EXAMPLES.get(key, EXAMPLES_PER_OPERATION)))
    assert fuzzed >= 80
    assert not failures, "\n\n".join(failures)


def test_the_run_reports_a_body_that_breaks_its_schema(
    owner_app: tuple[FastAPI, dict[str, str]],
) -> None:
    """The harness itself: a document promising something else for `GET /me` fails the run."""
    app, ids = owner_app
    document = app.openapi()
    me = document["paths"]["/api/v1/me"]["get"]
    me["responses"]["200"]["content"]["application/json"]["schema"] = {"type": "integer"}
    schema = schemathesis.openapi.from_dict({**document, "paths": {"/api/v1/me": {"get": me}}})
    schema.app = app
    (result,) = schema.get_all_operations()
    assert isinstance(result, Ok)
    failures = fuzz(result.ok(), ids, examples=1)
    assert len(failures) == 1
    assert "Response violates schema" in failures[0]


def fuzz(operation: Any, ids: dict[str, str], examples: int) -> list[str]:
    """Up to `examples` examples of one operation; the first failure of each kind."""
    found: dict[str, str] = {}
    headers = {"Authorization": f"Bearer {ids['token']}"}

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def one_example(case: Any) -> None:
        parameters = case.path_parameters or {}
        if "workspace_id" in parameters:
            parameters["workspace_id"] = ids["workspace_id"]
        # The real account and post, so answers with bodies get checked too (deleting them
        # would leave the other examples only 404s).
        for name in ("account_id", "post_id"):
            if name in parameters and case.method.upper() != "DELETE":
                parameters[name] = ids[name]
        response = case.call(headers=headers)
        assert response.status_code != 429, f"{operation.path} was rate limited: raise the limit"
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as error:
            found.setdefault(
                type(error).__name__ + str(response.status_code),
                f"{case.method} {operation.path}: {error}\n{response.status_code} {response.text[:500]}",
            )

    one_example()
    return list(found.values())

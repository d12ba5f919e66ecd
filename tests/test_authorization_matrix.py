"""Who may call what: every operation of the API for every kind of caller, against one table.

The operations come from the app's own OpenAPI, so an endpoint added without a line in
`MINIMUM_ACCESS` fails `test_every_operation_has_a_declared_minimum_access` until someone
decides who may call it."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from postwizard.workspaces.models import Role
from tests.api_client import (
    ApiClient,
    Person,
    create_person,
    invite,
    set_up_owner,
    sign_in,
    sign_up_by_invitation,
)
from tests.test_tenancy import placeholder_body, url_for

PUBLIC = "public"  # anyone, signed in or not
SIGNED_IN = "signed-in"  # any signed-in person, whatever their workspaces
Access = str | Role

W = "/api/v1/workspaces/{workspace_id}"
POST_ = f"{W}/posts/{{post_id}}"

MINIMUM_ACCESS: dict[tuple[str, str], Access] = {
    # Operations and first run
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/api/v1/setup"): PUBLIC,
    ("POST", "/api/v1/setup"): PUBLIC,  # refused with 409 once set up, for everyone
    # Signing in and the person's own things
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): PUBLIC,  # a no-op when not signed in
    ("GET", "/api/v1/me"): SIGNED_IN,
    ("PATCH", "/api/v1/me"): SIGNED_IN,
    ("POST", "/api/v1/me/password"): SIGNED_IN,
    ("DELETE", "/api/v1/me"): SIGNED_IN,  # the password in the body confirms it
    ("GET", "/api/v1/me/tokens"): SIGNED_IN,
    ("POST", "/api/v1/me/tokens"): SIGNED_IN,
    ("DELETE", "/api/v1/me/tokens/{token_id}"): SIGNED_IN,
    ("GET", "/api/v1/invitations/{token}"): PUBLIC,  # the link is the secret
    ("POST", "/api/v1/invitations/{token}/accept"): PUBLIC,  # may create the account
    ("GET", "/api/v1/networks"): SIGNED_IN,
    ("GET", "/api/v1/oauth/{network}/callback"): PUBLIC,  # the state ties it to a person
    # Workspaces and members
    ("GET", "/api/v1/workspaces"): SIGNED_IN,
    ("POST", "/api/v1/workspaces"): SIGNED_IN,
    ("GET", W): Role.VIEWER,
    ("PATCH", W): Role.ADMIN,
    ("DELETE", W): Role.OWNER,  # the workspace's name in the body confirms it
    ("GET", f"{W}/export"): Role.ADMIN,
    ("GET", f"{W}/members"): Role.VIEWER,
    ("PATCH", f"{W}/members/{{user_id}}"): Role.ADMIN,
    # Anyone may leave; removing somebody else is checked by the service (SERVICE_REFUSALS).
    ("DELETE", f"{W}/members/{{user_id}}"): Role.VIEWER,
    ("GET", f"{W}/invitations"): Role.ADMIN,
    ("POST", f"{W}/invitations"): Role.ADMIN,
    ("DELETE", f"{W}/invitations/{{invitation_id}}"): Role.ADMIN,
    ("GET", f"{W}/events"): Role.VIEWER,
    # Accounts
    ("GET", f"{W}/accounts"): Role.VIEWER,
    ("POST", f"{W}/accounts/sandbox"): Role.ADMIN,
    ("POST", f"{W}/accounts/connect/{{network}}"): Role.ADMIN,
    ("POST", f"{W}/accounts/connect/{{network}}/oauth"): Role.ADMIN,
    ("GET", f"{W}/accounts/{{account_id}}"): Role.VIEWER,
    ("PATCH", f"{W}/accounts/{{account_id}}"): Role.ADMIN,
    ("DELETE", f"{W}/accounts/{{account_id}}"): Role.ADMIN,
    ("POST", f"{W}/accounts/{{account_id}}/reconnect"): Role.ADMIN,
    # Posts
    ("GET", f"{W}/posts"): Role.VIEWER,
    ("POST", f"{W}/posts"): Role.EDITOR,
    ("POST", f"{W}/posts/check"): Role.VIEWER,  # writes nothing
    ("GET", f"{W}/posts/export"): Role.VIEWER,
    ("GET", POST_): Role.VIEWER,
    ("PUT", POST_): Role.EDITOR,
    ("DELETE", POST_): Role.EDITOR,
    ("POST", f"{POST_}/submit"): Role.EDITOR,
    ("POST", f"{POST_}/approve"): Role.ADMIN,
    ("POST", f"{POST_}/reject"): Role.ADMIN,
    ("POST", f"{POST_}/schedule"): Role.EDITOR,
    ("POST", f"{POST_}/unschedule"): Role.ADMIN,
    ("POST", f"{POST_}/cancel"): Role.EDITOR,
    ("GET", f"{POST_}/comments"): Role.VIEWER,
    ("POST", f"{POST_}/comments"): Role.VIEWER,  # reviewers comment without editing
    ("GET", f"{W}/calendar"): Role.VIEWER,
    ("GET", f"{W}/activity"): Role.VIEWER,
    ("POST", f"{W}/imports/posts"): Role.ADMIN,
    # Publishing
    ("GET", f"{POST_}/deliveries"): Role.VIEWER,
    ("POST", f"{W}/deliveries/{{delivery_id}}/retry"): Role.EDITOR,
    ("POST", f"{W}/deliveries/{{delivery_id}}/mark-published"): Role.EDITOR,
    ("GET", f"{W}/publishing/health"): Role.VIEWER,
    # Media
    ("POST", f"{W}/media"): Role.EDITOR,
    ("GET", f"{W}/media"): Role.VIEWER,
    ("GET", f"{W}/media/{{media_id}}"): Role.VIEWER,
    ("PATCH", f"{W}/media/{{media_id}}"): Role.EDITOR,
    ("DELETE", f"{W}/media/{{media_id}}"): Role.EDITOR,
    ("GET", f"{W}/media/{{media_id}}/file"): Role.VIEWER,
    ("GET", f"{W}/media/{{media_id}}/thumbnail"): Role.VIEWER,
    # Captions
    ("POST", f"{W}/captions/generate"): Role.EDITOR,
    ("POST", f"{W}/captions/generate/stream"): Role.EDITOR,
    ("POST", f"{W}/captions/rewrite"): Role.EDITOR,
    ("POST", f"{W}/captions/adapt"): Role.EDITOR,
    ("POST", f"{W}/captions/hashtags"): Role.EDITOR,
    ("POST", f"{W}/captions/translate"): Role.EDITOR,
    ("POST", f"{W}/captions/alt-text"): Role.EDITOR,
    ("GET", f"{W}/captions/generations"): Role.VIEWER,
    ("POST", f"{W}/captions/generations/{{generation_id}}/feedback"): Role.EDITOR,
    ("GET", f"{W}/captions/settings"): Role.VIEWER,
    ("PUT", f"{W}/captions/settings"): Role.ADMIN,
    ("POST", f"{W}/captions/settings/test"): Role.ADMIN,
    ("POST", f"{W}/captions/voice/learn"): Role.ADMIN,
    # Ideas board (notes)
    ("GET", f"{W}/notes/columns"): Role.VIEWER,
    ("POST", f"{W}/notes/columns"): Role.EDITOR,
    ("PATCH", f"{W}/notes/columns/{{column_id}}"): Role.EDITOR,
    ("DELETE", f"{W}/notes/columns/{{column_id}}"): Role.EDITOR,
    ("GET", f"{W}/notes"): Role.VIEWER,
    ("POST", f"{W}/notes"): Role.EDITOR,
    ("GET", f"{W}/notes/{{note_id}}"): Role.VIEWER,
    ("PATCH", f"{W}/notes/{{note_id}}"): Role.EDITOR,
    ("DELETE", f"{W}/notes/{{note_id}}"): Role.EDITOR,
    ("POST", f"{W}/notes/{{note_id}}/move"): Role.EDITOR,
    ("POST", f"{W}/notes/{{note_id}}/post"): Role.EDITOR,
    # Growth (goals, challenges, streaks, badges)
    ("GET", f"{W}/growth/goals"): Role.VIEWER,
    ("POST", f"{W}/growth/goals"): Role.EDITOR,
    ("DELETE", f"{W}/growth/goals/{{goal_id}}"): Role.EDITOR,
    ("GET", f"{W}/growth/challenge-templates"): Role.VIEWER,
    ("GET", f"{W}/growth/challenges"): Role.VIEWER,
    ("POST", f"{W}/growth/challenges"): Role.EDITOR,
    ("DELETE", f"{W}/growth/challenges/{{challenge_id}}"): Role.EDITOR,
    ("GET", f"{W}/growth/streaks"): Role.VIEWER,
    ("PUT", f"{W}/growth/streaks/freezes/{{day}}"): Role.EDITOR,
    ("DELETE", f"{W}/growth/streaks/freezes/{{day}}"): Role.EDITOR,
    ("GET", f"{W}/growth/badges"): Role.VIEWER,
    # Notifications and webhooks
    ("GET", f"{W}/notifications"): Role.VIEWER,
    ("GET", f"{W}/notifications/unread-count"): Role.VIEWER,
    ("POST", f"{W}/notifications/read"): Role.VIEWER,  # one's own notifications
    ("GET", "/api/v1/notification-preferences"): SIGNED_IN,
    ("PUT", "/api/v1/notification-preferences"): SIGNED_IN,
    ("GET", "/api/v1/notification-types"): SIGNED_IN,
    ("GET", "/api/v1/push/web-push-key"): SIGNED_IN,
    ("GET", "/api/v1/push/subscriptions"): SIGNED_IN,  # one's own browsers and devices
    ("POST", "/api/v1/push/subscriptions"): SIGNED_IN,
    ("POST", "/api/v1/push/fcm-tokens"): SIGNED_IN,
    ("DELETE", "/api/v1/push/subscriptions/{subscription_id}"): SIGNED_IN,
    ("GET", f"{W}/webhooks"): Role.ADMIN,
    ("POST", f"{W}/webhooks"): Role.ADMIN,
    ("PATCH", f"{W}/webhooks/{{webhook_id}}"): Role.ADMIN,
    ("DELETE", f"{W}/webhooks/{{webhook_id}}"): Role.ADMIN,
    ("POST", f"{W}/webhooks/{{webhook_id}}/test"): Role.ADMIN,
    ("GET", f"{W}/webhooks/{{webhook_id}}/deliveries"): Role.ADMIN,
    # Analytics
    ("GET", f"{W}/analytics/overview"): Role.VIEWER,
    ("GET", f"{W}/analytics/daily"): Role.VIEWER,
    ("GET", f"{W}/analytics/accounts"): Role.VIEWER,
    ("GET", f"{W}/analytics/networks"): Role.VIEWER,
    ("GET", f"{W}/analytics/top-posts"): Role.VIEWER,
    ("GET", f"{W}/analytics/groups/{{group}}"): Role.VIEWER,
    ("GET", f"{W}/analytics/posts/{{post_id}}"): Role.VIEWER,
    ("GET", f"{W}/analytics/best-time"): Role.VIEWER,
    ("GET", f"{POST_}/metrics"): Role.VIEWER,
    ("GET", f"{POST_}/metrics/history"): Role.VIEWER,
    ("POST", f"{POST_}/metrics/refresh"): Role.EDITOR,
}

# Refusals by a service after the gate let the caller through: (operation, role) → message part.
SERVICE_REFUSALS: dict[tuple[tuple[str, str], str | Role], str] = {
    (("DELETE", f"{W}/members/{{user_id}}"), Role.VIEWER): "Only admins and owners",
    (("DELETE", f"{W}/members/{{user_id}}"), Role.EDITOR): "Only admins and owners",
}

# Last, because it ends the caller's session.
RUN_LAST = {("POST", "/api/v1/auth/logout")}
OUTSIDER = "member of another workspace"
ANONYMOUS = "anonymous"
NOT_A_MEMBER = "No such workspace, or you are not a member of it."


def operations_of(app: FastAPI) -> list[tuple[str, str]]:
    """Every documented operation, as (METHOD, path template)."""
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]


@dataclass
class Answer:
    status: int
    body: Any


def expected_outcome(access: Access, caller: str | Role, path: str) -> str:
    """`allowed`, or the status a refused caller gets: 401 anonymous, 404 for a workspace
    the caller is not a member of (its existence is not disclosed), 403 for too low a role."""
    if access == PUBLIC:
        return "allowed"
    if caller == ANONYMOUS:
        return "401"
    if access == SIGNED_IN:
        return "allowed"
    assert isinstance(access, Role)
    if caller == OUTSIDER:
        return "404"
    assert isinstance(caller, Role)
    return "allowed" if caller.at_least(access) else "403"


def outcome_of(answer: Answer, access: Access) -> str:
    error = answer.body.get("error", {}) if isinstance(answer.body, dict) else {}
    message = str(error.get("message", ""))
    if answer.status == 401:
        return "401"
    if answer.status == 404 and message == NOT_A_MEMBER:
        return "404"
    if answer.status == 403 and isinstance(access, Role) and message.startswith("This needs the"):
        # The gate names the minimum it wants, so a wrong level in the table shows up too.
        assert f"needs the {access.value} role" in message, message
        return "403"
    return "allowed"


async def status_of_endless_stream(app: FastAPI, request: httpx.Request) -> Answer:
    """Call an endless (SSE) endpoint in-process and hang up as soon as it answers."""
    started: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    body = bytearray()
    done = asyncio.Event()
    sent_request = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.set_result(message["status"])
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))
            if not message.get("more_body", False) or started.result() == 200:
                done.set()

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "scheme": "http",
        "path": request.url.path,
        "raw_path": request.url.raw_path,
        "query_string": request.url.query,
        "root_path": "",
        "headers": [(name.lower(), value) for name, value in request.headers.raw],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    call = asyncio.create_task(app(scope, receive, send))
    async with asyncio.timeout(10):
        await done.wait()
        await call
    status = started.result()
    return Answer(
        status, httpx.Response(status, content=bytes(body)).json() if status != 200 else {}
    )


async def call(app: FastAPI, api: ApiClient, method: str, url: str) -> Answer:
    if url.endswith("/events"):
        return await status_of_endless_stream(app, api.build_request(method, url))
    response = await api.request(method, url, json=placeholder_body(method))
    try:
        body = response.json()
    except ValueError:
        body = None
    return Answer(response.status_code, body)


def test_every_operation_has_a_declared_minimum_access(app: FastAPI) -> None:
    operations = set(operations_of(app))
    unclassified = sorted(operations - MINIMUM_ACCESS.keys())
    assert not unclassified, (
        f"Add these operations to MINIMUM_ACCESS with who may call them: {unclassified}"
    )
    assert not sorted(MINIMUM_ACCESS.keys() - operations), "MINIMUM_ACCESS lists gone operations"


async def test_each_caller_gets_exactly_what_the_table_allows(
    app: FastAPI, client: ApiClient
) -> None:
    owner = await set_up_owner(client)
    callers: dict[str | Role, ApiClient] = {Role.OWNER: client}
    for role in (Role.ADMIN, Role.EDITOR, Role.VIEWER):
        token = await invite(client, owner.workspace_id, role=role.value)
        member = ApiClient.for_app(app)
        await sign_up_by_invitation(member, token, f"{role.value}@example.com")
        callers[role] = member
    outsider: Person = await create_person(app, "olga@example.com", "Olga's bakery")
    callers[OUTSIDER] = ApiClient.for_app(app)
    await sign_in(callers[OUTSIDER], outsider)
    callers[ANONYMOUS] = ApiClient.for_app(app)

    operations = sorted(
        (op for op in operations_of(app) if op in MINIMUM_ACCESS),
        key=lambda op: op in RUN_LAST,
    )
    mismatches = []
    try:
        for caller, api in callers.items():
            for method, path in operations:
                access = MINIMUM_ACCESS[(method, path)]
                answer = await call(app, api, method, url_for(path, owner.workspace_id))
                expected = expected_outcome(access, caller, path)
                got = outcome_of(answer, access)
                refusal = SERVICE_REFUSALS.get(((method, path), caller))
                if got == "allowed" and answer.status == 403 and refusal is None:
                    got = "403 from the service"
                if refusal is not None:
                    assert refusal in answer.body["error"]["message"], answer.body
                if got != expected:
                    mismatches.append(
                        f"{caller}: {method} {path} expected {expected}, got {answer.status} "
                        f"{answer.body}"
                    )
    finally:
        for caller, api in callers.items():
            if caller != Role.OWNER:
                await api.aclose()
    assert not mismatches, "\n".join(mismatches)
    assert len(operations) * len(callers) >= 6 * 80

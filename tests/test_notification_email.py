"""Notification email through a real local SMTP server (aiosmtpd): who gets what, as chosen."""

from __future__ import annotations

import email
import uuid
from collections.abc import Callable, Iterator
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI

from postwizard.api.resources import resources_of
from postwizard.config import Settings
from tests.api_client import ApiClient, invite, set_up_owner, sign_up_by_invitation
from tests.notification_support import eventually, sender_for
from tests.support.services import free_port


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def settings(
    make_settings: Callable[..., Settings], sqlite_url: str, inbox: tuple[Inbox, int]
) -> Settings:
    return make_settings(
        database_url=sqlite_url,
        smtp_host="127.0.0.1",
        smtp_port=inbox[1],
        smtp_from="PostWizard <pw@example.com>",
        smtp_tls="none",
    )


def parts(message: Message) -> dict[str, str]:
    found: dict[str, str] = {}
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found[part.get_content_type()] = payload.decode()
    return found


async def test_failures_are_emailed_to_those_who_want_them(
    app: FastAPI, client: ApiClient, inbox: tuple[Inbox, int]
) -> None:
    owner = await set_up_owner(client)
    async with ApiClient.for_app(app) as editor_api:
        await sign_up_by_invitation(
            editor_api, await invite(client, owner.workspace_id, "editor"), "ed@example.com"
        )
        prefs = (await editor_api.get("/api/v1/notification-preferences")).json()
        assert prefs["email_available"] is True
        # The editor keeps failures in the app but not in the mailbox.
        await editor_api.put(
            "/api/v1/notification-preferences",
            json={"items": [{"event_type": "delivery.failed", "email": False}]},
        )
    await resources_of(app).bus.publish(
        uuid.UUID(owner.workspace_id),
        "delivery.updated",
        {
            "delivery_id": "d1",
            "post_id": str(uuid.uuid4()),
            "state": "failed",
            "error": "Token <expired>",
        },
    )
    sender = sender_for(app)
    try:

        async def sent() -> int:
            return await sender.work_once()

        assert await eventually(sent) == 1
    finally:
        await sender.aclose()
    [envelope] = inbox[0].envelopes
    assert envelope.rcpt_tos == ["owner@example.com"]
    assert isinstance(envelope.content, bytes)
    message = email.message_from_bytes(envelope.content)
    assert message["Subject"] == "Publishing to one network failed"
    assert message["From"] == "PostWizard <pw@example.com>"
    bodies = parts(message)
    assert "A post: Token <expired>" in bodies["text/plain"]
    assert "Token &lt;expired&gt;" in bodies["text/html"]  # escaped in HTML

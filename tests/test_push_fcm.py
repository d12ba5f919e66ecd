"""FCM (HTTP v1) through the API: an app device registers its token, a real event is sent with
an access token got by a signed JWT-bearer assertion (kept for the next sends), and tokens FCM
calls unregistered or invalid are forgotten. `postwizard doctor` names an unusable file."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from postwizard.config import Settings
from tests.api_client import ApiClient, Person, add_sandbox_account, set_up_owner
from tests.fakes.fcm import FakeFcm
from tests.notification_support import eventually, sender_for
from tests.support.serving import serving
from tests.test_cli import run_cli

GOOD = "dGhpcy1pcy1hLWdvb2QtdG9rZW4:APA91b" + "G" * 40
UNREGISTERED = "dGhpcy1hcHAtd2FzLXJlbW92ZWQ:APA91b" + "U" * 40
INVALID = "dGhpcy1pcy1ub3QtYS10b2tlbg:APA91b" + "I" * 40


@pytest.fixture
def fcm(tmp_path: Path) -> Iterator[FakeFcm]:
    fake = FakeFcm()
    with serving(fake.app()) as base:
        fake.origin = base
        yield fake


@pytest.fixture
def settings(
    make_settings: Callable[..., Settings], sqlite_url: str, fcm: FakeFcm, tmp_path: Path
) -> Settings:
    account_file = fcm.write_service_account(tmp_path / "firebase.json")
    return make_settings(
        database_url=sqlite_url,
        fcm_service_account_file=str(account_file),
        fcm_api_url=fcm.origin,
    )


async def register(api: ApiClient, token: str) -> dict:
    answer = await api.post(
        "/api/v1/push/fcm-tokens", json={"token": token}, headers={"User-Agent": "PostWizard/1.0"}
    )
    assert answer.status_code == 201, answer.text
    body: dict = answer.json()
    return body


async def submit_a_post(api: ApiClient, owner: Person, account: str, text: str) -> str:
    posts = f"/api/v1/workspaces/{owner.workspace_id}/posts"
    created = await api.post(posts, json={"text": text, "targets": [{"account_id": account}]})
    post_id: str = created.json()["id"]
    assert (await api.post(f"{posts}/{post_id}/submit")).status_code == 200
    feed = f"/api/v1/workspaces/{owner.workspace_id}/notifications"

    async def told() -> bool:
        items = (await api.get(feed)).json()["items"]
        return any(n["link"] == f"/posts/{post_id}" for n in items)

    await eventually(told)
    return post_id


async def test_app_devices_get_fcm_messages_and_dead_tokens_are_forgotten(
    app: FastAPI, client: ApiClient, fcm: FakeFcm, settings: Settings
) -> None:
    owner = await set_up_owner(client)
    account = await add_sandbox_account(client, owner.workspace_id, "bakery")
    prefs = (await client.get("/api/v1/notification-preferences")).json()
    assert prefs["fcm_available"] is True
    good = await register(client, GOOD)
    assert (good["kind"], good["target"], good["user_agent"]) == ("fcm", GOOD, "PostWizard/1.0")
    await register(client, UNREGISTERED)
    await register(client, INVALID)
    again = await register(client, GOOD)  # registering again keeps one subscription
    assert again["id"] == good["id"]
    fcm.unregistered.add(UNREGISTERED)
    fcm.invalid.add(INVALID)

    first = await submit_a_post(client, owner, account, "Fresh bread at 7!")
    sender = sender_for(app)
    try:
        assert await sender.work_once() == 3
        second = await submit_a_post(client, owner, account, "Croissants at 8")
        assert await sender.work_once() == 1  # only the good token is left
    finally:
        await sender.aclose()

    assert fcm.refused == []
    assert fcm.token_requests == 1  # the access token was kept for the later sends
    assert [m["token"] for m in fcm.messages] == [GOOD, GOOD]
    public = settings.effective_public_url
    assert fcm.messages[0]["notification"] == {
        "title": "A post needs approval",
        "body": "“Fresh bread at 7!” is waiting for your approval.",
    }
    assert fcm.messages[0]["data"] == {
        "title": "A post needs approval",
        "body": "“Fresh bread at 7!” is waiting for your approval.",
        "link": f"{public}/posts/{first}",
        "type": "post.submitted",
    }
    assert fcm.messages[1]["data"]["link"] == f"{public}/posts/{second}"
    left = (await client.get("/api/v1/push/subscriptions")).json()
    assert [s["target"] for s in left] == [GOOD]


def test_doctor_says_when_the_service_account_file_is_unusable(tmp_path: Path) -> None:
    broken = tmp_path / "firebase.json"
    broken.write_text('{"type": "service_account", "project_id": "p"}')
    missing = run_cli(
        "doctor",
        data_dir=tmp_path / "data",
        extra_env={"POSTWIZARD_FCM_SERVICE_ACCOUNT_FILE": str(tmp_path / "nowhere.json")},
    )
    assert "cannot read" in missing.stdout
    invalid = run_cli(
        "doctor",
        data_dir=tmp_path / "data",
        extra_env={"POSTWIZARD_FCM_SERVICE_ACCOUNT_FILE": str(broken)},
    )
    assert "lacks private_key, client_email, token_uri" in invalid.stdout

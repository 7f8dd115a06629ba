"""A Slack rig: the app under Starlette's TestClient, Slack's Web API as a fake HTTP server on port 0,
requests signed as Slack signs them, and the outbox delivered on demand (as the worker would)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.app import Services
from bot.outbox import Outbox
from bot.web import create_app
from bot.worker import build_outbox
from tests.conftest import ServicesFactory
from tests.fakes.slack_api import FakeSlack, fake_slack_server
from tests.fakes.slack_requests import SECRET, as_form, as_json, signed

TRIAGE = "CTRIAGE01"
BACKUP = "UBACKUP01"


@dataclass
class SlackRig:
    services: Services
    client: TestClient
    fake: FakeSlack
    outbox: Outbox

    def send(self, body: bytes, content_type: str, **signing: Any) -> httpx.Response:
        response: httpx.Response = self.client.post("/slack/events", content=body,
                                                    headers=signed(body, content_type, **signing))
        return response

    def event(self, payload: dict[str, Any], **signing: Any) -> httpx.Response:
        response = self.send(*as_json(payload), **signing)
        assert response.status_code == 200, response.text
        self.settle()
        return response

    def interact(self, payload: dict[str, Any]) -> httpx.Response:
        response = self.send(*as_form(payload))
        assert response.status_code == 200, response.text
        self.settle()
        return response

    def settle(self) -> None:
        """Every task the acks left behind has finished (turns, button updates, lookups)."""
        portal = self.client.portal
        assert portal is not None
        drain = self.client.app.state.slack.handler.drain  # type: ignore[attr-defined]
        portal.call(drain)

    def deliver(self) -> int:
        """What the worker does: deliver every due outbox row; returns how many were handled."""
        total = 0
        while (done := self.outbox.run_round()) > 0:
            total += done
        return total

    def customer_posts(self, channel_prefix: str = "D") -> list[dict[str, Any]]:
        return [p for p in self.fake.posts() if str(p["channel"]).startswith(channel_prefix)]


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with fake_slack_server() as fake:
        yield fake


@pytest.fixture
def make_rig(make_services: ServicesFactory, fake_slack: FakeSlack) -> Iterator[Any]:
    opened: list[TestClient] = []

    def make(**settings: Any) -> SlackRig:
        values: dict[str, Any] = {"slack_bot_token": "xoxb-test-token", "slack_signing_secret": SECRET,
                                  "slack_api_url": fake_slack.url, "slack_triage_channel": TRIAGE,
                                  "strategist_backup": BACKUP, "business_hours": "always", **settings}
        services = make_services(**values)
        client = TestClient(create_app(services.settings, services=services, run_timers=False))
        client.__enter__()
        opened.append(client)
        return SlackRig(services, client, fake_slack, build_outbox(services, "test-worker"))

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def rig(make_rig: Any) -> SlackRig:
    rig: SlackRig = make_rig()
    return rig

"""With Slack configured, the case card in the triage channel follows what staff do in the console: posted when an
agent hands off there, updated in place when a strategist claims, returns or resolves there (Slack's Web API is
the fake HTTP server of tests/fakes/slack_api.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bot.app import Services
from bot.outbox import Outbox
from bot.worker import build_outbox
from tests.conftest import ServicesFactory
from tests.fakes.app_server import serving
from tests.fakes.host_app import bearer, sign
from tests.fakes.slack_api import FakeSlack, fake_slack_server
from tests.fakes.slack_requests import SECRET
from tests.fakes.staff_browser import PUBLIC
from tests.fakes.staff_browser import staff_browser as browser

TRIAGE = "CTRIAGE01"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with fake_slack_server() as fake:
        yield fake


def _deliver(outbox: Outbox) -> None:
    """What the worker does: every due outbox row delivered."""
    while outbox.run_round() > 0:
        pass


def _card_texts(fake: FakeSlack, card: dict[str, Any]) -> list[str]:
    """What the card said after each chat.update, oldest first."""
    return [str(c.body.get("text")) for c in fake.called("chat.update") if c.body.get("ts") == card["ts"]]


def _actions(body: dict[str, Any]) -> list[str]:
    blocks = body["blocks"] if isinstance(body["blocks"], list) else []
    return [e["action_id"] for b in blocks if b.get("type") == "actions" for e in b["elements"]]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("ending", ["resolve", "return"])
def test_the_triage_card_follows_each_console_action(make_services: ServicesFactory, fake_slack: FakeSlack,
                                                     ending: str) -> None:
    services: Services = make_services(base_url=PUBLIC, slack_bot_token="xoxb-test-token",
                                       slack_signing_secret=SECRET, slack_api_url=fake_slack.url,
                                       slack_triage_channel=TRIAGE, business_hours="always")
    outbox = build_outbox(services, "test-worker")
    with serving(services) as origin, browser(origin) as alice, browser(origin) as sam:
        sent = httpx.post(f"{origin}/api/chat/messages", headers=bearer(sign(services.clock)),
                          json={"client_message_id": "m1", "text": "hi, we're a vendor and want to connect"})
        conversation = int(sent.json()["conversation"].removeprefix("c-"))
        alice.sign_in("alice")
        assert alice.act(conversation, "handoff", text="asks about vendor central").status_code == 303
        _deliver(outbox)
        cards = [p for p in fake_slack.posts() if p["channel"] == TRIAGE and "thread_ts" not in p]
        assert len(cards) == 1, "the agent's hand-off in the console posts the case card"
        card = cards[0]
        assert "asks about vendor central" in str(card["blocks"])
        assert _actions(card) == ["case:claim", "case:return", "case:resolve"]

        sam.sign_in("sam")
        assert sam.act(conversation, "claim").status_code == 303
        _deliver(outbox)
        assert _card_texts(fake_slack, card)[-1].endswith("Claimed by Strategist Sam.")
        claimed = fake_slack.called("chat.update")[-1].body
        assert _actions(claimed) == ["case:return", "case:resolve"], "nobody can claim it again from Slack"

        fields = {"to_step": "region"} if ending == "return" else {}
        assert sam.act(conversation, ending, **fields).status_code == 303
        _deliver(outbox)
        said = _card_texts(fake_slack, card)
        assert said[-1].endswith("Resolved by Strategist Sam." if ending == "resolve"
                                else "Handed back to the bot by Strategist Sam."), "and who moved it"
        assert _actions(fake_slack.called("chat.update")[-1].body) == [], "a closed case has no buttons"
        assert len(said) == 2, "one update per move of the case, none for nothing"
        _deliver(outbox)
        assert len(_card_texts(fake_slack, card)) == 2

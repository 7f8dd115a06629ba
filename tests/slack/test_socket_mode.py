"""Socket Mode (`python -m bot slack socket`): the same listeners over a WebSocket, acked by envelope id."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.slack.socket import SocketModeUnavailable, check, open_socket_mode
from bot.worker import build_outbox
from tests.conftest import ServicesFactory
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_requests import DM, dm
from tests.fakes.slack_socket import FakeSocket, events_api


def test_events_over_the_socket_are_acked_answered_once_and_retries_skipped(
        make_services: ServicesFactory, fake_slack: FakeSlack) -> None:
    services = make_services(slack_bot_token="xoxb-test-token", slack_app_token="xapp-1-A0APP0001-test",
                             slack_api_url=fake_slack.url)
    socket = FakeSocket()
    event = dm("hi, we're a seller and want to connect")
    socket.to_send = [events_api(event, "env-1"), events_api(event, "env-2", retry=1)]

    async def run() -> None:
        await socket.start()
        fake_slack.socket_url = socket.url
        mode = await open_socket_mode(services, with_worker=False)
        try:
            await socket.wait_for_acks(2)
            await mode.slack.handler.drain()
        finally:
            await mode.close()
            await socket.stop()

    asyncio.run(run())
    assert sorted(a["envelope_id"] for a in socket.acks) == ["env-1", "env-2"]
    assert fake_slack.called("apps.connections.open")[0].token.startswith("xapp-")
    outbox = build_outbox(services, "test-worker")
    outbox.run_round()
    assert [p["channel"] for p in fake_slack.posts()] == [DM]


def test_socket_mode_wants_an_app_level_token(make_services: ServicesFactory) -> None:
    with pytest.raises(SocketModeUnavailable, match="xapp-"):
        check(make_services(slack_bot_token="xoxb-x", slack_app_token="xoxb-not-an-app-token"))

"""Our web app and the Amazon stand-in, each a real HTTP server on a local port, and a browser.

The app is reached at its public address (PUBLIC), as links show it; the browser's transport
carries those requests to the app's real port. The stand-in runs as its own server, so every
call the callback makes to "Amazon" crosses a socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bot.amazon.sandbox.app import Sandbox, create_sandbox
from bot.amazon.sandbox.grants import SANDBOX_CLIENT_SECRET
from bot.app import Services
from bot.channels.scripted_browser import Decision, ScriptedBrowser
from bot.clock import ManualClock
from bot.loopback import LocalServer, Rerouted, stop_servers
from bot.store.rows import AttemptRow
from bot.types import ConversationKey
from bot.web import create_app
from tests.conftest import ServicesFactory
from tests.fakes.talk import CUSTOMER, click, say

PUBLIC = "http://connectbot.test"


@dataclass
class Site:
    services: Services
    clock: ManualClock
    sandbox: Sandbox
    sandbox_origin: str
    http: httpx.Client
    browser: ScriptedBrowser
    routes: dict[str, str]  # the public address -> where the app really listens

    def pending(self, key: ConversationKey = CUSTOMER) -> AttemptRow:
        engine = self.services.engine
        attempt = engine.pending_link(engine.conversation_id_for(key) or 0)
        assert attempt is not None, "the conversation has no link pending"
        return attempt

    def link(self, attempt: AttemptRow) -> str:
        return f"{PUBLIC}/connect/{attempt.state_token}"

    def sign_in(self, decision: Decision, key: ConversationKey = CUSTOMER) -> tuple[str, list[dict[str, Any]]]:
        """The customer opens the pending link and answers Amazon's page: (page title, new messages)."""
        attempt = self.pending(key)
        before = self.services.engine.last_outbox_id(attempt.conversation_id)
        title = self.browser.play(self.link(attempt), decision)
        return title, self.messages_after(attempt.conversation_id, before)

    def callback_url(self, decision: Decision, key: ConversationKey = CUSTOMER) -> str:
        """Where Amazon sends the browser back, without following it (to replay or delay it)."""
        attempt = self.pending(key)
        opened = self.http.get(self.link(attempt))
        consent = httpx.URL(opened.headers["location"])
        decided = self.http.post(consent.copy_with(query=None), data={**dict(consent.params), **decision.form()})
        assert decided.status_code == 302, decided.text
        return str(decided.headers["location"])

    def messages_after(self, conversation_id: int, outbox_id: int) -> list[dict[str, Any]]:
        return [payload for _, payload in self.services.engine.outbox_after(conversation_id, outbox_id)]


def reach_signin_link(services: Services, account: str = "vendor", market: str = "amazon.de",
                      key: ConversationKey = CUSTOMER) -> None:
    say(services, f"hi, we're a {account} and want to connect our account", key=key)
    click(services, "Yes", key=key)
    say(services, f"we sell on {market}", key=key)


@contextmanager
def running_site(make_services: ServicesFactory, *, sandbox_secret: str | None = None,
                 **settings: Any) -> Iterator[Site]:
    clock = ManualClock()
    sandbox = create_sandbox(clock, redirect_uris=(f"{PUBLIC}/oauth/amazon/callback",),
                             spapi_redirect_uri=f"{PUBLIC}/oauth/spapi/callback",
                             client_secret=sandbox_secret or SANDBOX_CLIENT_SECRET)
    amazon = LocalServer(sandbox.app)
    sandbox_origin = amazon.start()
    services = make_services(clock, base_url=PUBLIC, amazon_sandbox_url=sandbox_origin,
                             amazon_backoff_seconds=0.01, **settings)
    app = LocalServer(create_app(services.settings, services, run_timers=False))
    routes = {PUBLIC: app.start()}
    http = httpx.Client(transport=Rerouted(routes), timeout=30)
    try:
        yield Site(services, clock, sandbox, sandbox_origin, http, ScriptedBrowser(http), routes)
    finally:
        http.close()
        stop_servers(app, amazon)

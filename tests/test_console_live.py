"""The console's live pages over real HTTP: the event stream that says which conversations changed (in this
process on SQLite, from another process through LISTEN on PostgreSQL), its refusals, its end with the session,
the script it feeds, and the conversation's journey timeline."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from bot.app import Services
from bot.clock import ManualClock
from bot.sync.report import SyncReport
from bot.types import Channel, ConversationKey, Inbound, InboundKind
from tests.conftest import TEST_TOKEN_KEY, ServicesFactory
from tests.fakes.app_server import serving
from tests.fakes.connections import add_connection
from tests.fakes.console_events import ConsoleEvents
from tests.fakes.host_app import HOST_SECRET, bearer, sign
from tests.fakes.staff_browser import PUBLIC, StaffBrowser
from tests.fakes.staff_browser import staff_browser as browser
from tests.fakes.talk import CUSTOMER, click, say

ROOT = Path(__file__).resolve().parent.parent
OTHER = ConversationKey(Channel.WEBCHAT, "globex", "u2")


@contextmanager
def events(staff: StaffBrowser, origin: str, **params: str) -> Iterator[ConsoleEvents]:
    stream = ConsoleEvents(staff, origin, params)
    try:
        yield stream
    finally:
        stream.close()


def _customer_says(origin: str, services: Services, mid: str, text: str, user: str = "u1", org: str = "acme") -> int:
    sent = httpx.post(f"{origin}/api/chat/messages", json={"client_message_id": mid, "text": text},
                      headers=bearer(sign(services.clock, user=user, org=org)))
    assert sent.status_code == 200, sent.text
    return int(sent.json()["conversation"].removeprefix("c-"))


def test_the_queue_hears_every_change_and_a_conversation_page_only_its_own(make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC, inapp_keepalive_seconds=0.3)
    # On PostgreSQL another process's engine (its commits reach this one through NOTIFY alone); on SQLite the
    # worker loop and every turn run in the web process, whose commits tell the stream hub in-process.
    elsewhere = make_services(base_url=PUBLIC) if services.engine.postgres else services
    with serving(services) as origin, browser(origin) as sam:
        sam.sign_in("sam")
        with events(sam, origin) as everything:
            assert everything.status == 200
            first = _customer_says(origin, services, "m1", "i want to talk to a person")
            everything.changed(first)
            assert everything.retry == 3000, "a dropped stream is reconnected after 3 s"
            second = _customer_says(origin, services, "m1", "hello", user="u2", org="globex")
            everything.changed(second)
            with events(sam, origin, c=str(first)) as only_first:
                elsewhere.engine.handle(OTHER, Inbound(InboundKind.SAY, "x1", text="how long does the first sync take"))
                everything.changed(second)
                assert only_first.quiet(0.5), "the conversation page hears nothing of other conversations"
                elsewhere.engine.handle(CUSTOMER, Inbound(InboundKind.STRATEGIST, "s1",
                                                          data={"action": "claim", "by": "Dana"}))
                only_first.changed(first)
                everything.changed(first)
            assert everything.comments, "an idle stream sends keep-alive comments"


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_reply_from_another_process_reaches_the_open_page(make_services: ServicesFactory, database_url: str) -> None:
    services = make_services(base_url=PUBLIC)
    with serving(services) as origin, browser(origin) as sam:
        sam.sign_in("sam")
        conversation = _customer_says(origin, services, "m1", "i want to talk to a person")
        with events(sam, origin, c=str(conversation)) as page:
            _customer_says(origin, services, "m2", "still there?")
            page.changed(conversation)  # this process's own turn came back through LISTEN: it is up
            script = [{"user": {"id": "u1", "org": "acme", "channel": "webchat"}},
                      {"strategist": {"action": "claim", "by": "Dana"}},
                      {"strategist": {"action": "reply", "by": "Dana", "text": "Dana here, looking now."}}]
            env = {**os.environ, "TOKEN_ENCRYPTION_KEYS": TEST_TOKEN_KEY, "INAPP_IDENTITY_SECRET": HOST_SECRET,
                   "LOG_FORMAT": "text"}
            done = subprocess.run([sys.executable, "-m", "bot", "chat", "--jsonl", "--database-url", database_url],
                                  input="".join(json.dumps(line) + "\n" for line in script), text=True,
                                  capture_output=True, cwd=ROOT, env=env, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            page.changed(conversation, timeout=5)
        shown = sam.http.get(f"/console/c/{conversation}").text
        assert "Dana here, looking now." in shown and "Dana (strategist) claimed the case" in shown


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_stream_refuses_as_the_pages_do_and_ends_with_the_session(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock, base_url=PUBLIC, console_session_hours=1.0, inapp_keepalive_seconds=0.2)
    with serving(services) as origin, browser(origin) as alice, browser(origin) as nobody:
        with events(nobody, origin) as anonymous:
            assert anonymous.status == 303 and anonymous.location == "/console/login"
        as_customer = nobody.http.get("/console/events", headers=bearer(sign(clock)))
        assert as_customer.status_code == 303, "a customer's in-app token opens no console stream"
        assert nobody.http.get("/console/events", params={"token": sign(clock)}).status_code == 303

        alice.sign_in("alice")
        with events(alice, origin) as live:
            assert live.status == 200
            clock.advance(timedelta(hours=1, minutes=1))
            assert live.ended.wait(5), "the stream ends when the session does"
        with events(alice, origin) as again:
            assert again.status == 303 and again.location == "/console/login"
        ended = alice.http.get("/console/login")
        assert ended.status_code == 200 and "Your session has ended" in ended.text and "1 hour" in ended.text
        assert 'href="/console/login?again=1"' in ended.text
        to_idp = alice.http.get("/console/login", params={"again": "1"})
        assert to_idp.status_code == 302 and to_idp.headers["location"].startswith(f"{PUBLIC}/idp/authorize?")


def test_a_session_never_signed_in_goes_straight_to_the_provider(make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC)
    with serving(services) as origin, browser(origin) as nobody:
        login = nobody.http.get("/console/login")
        assert login.status_code == 302 and "session has ended" not in login.text


def test_the_live_script_is_served_and_no_page_carries_inline_script(make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC, console_poll_seconds=7.0)
    with serving(services) as origin, browser(origin) as sam:
        script = sam.http.get("/console/live.js")
        assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
        assert "EventSource" in script.text
        queue = sam.sign_in("sam")
        conversation = _customer_says(origin, services, "m1", "hello")
        page = sam.http.get(f"/console/c/{conversation}")
        for shown in (queue, page):
            assert "script-src 'self'" in shown.headers["content-security-policy"]
            assert re.findall(r"<script(?![^>]*\bsrc=)", shown.text) == [], "no inline script"
            assert '<script src="/console/live.js" defer></script>' in shown.text
            assert 'data-poll="7.0"' in shown.text and "checking every 7 seconds" in shown.text
        assert 'data-events="/console/events"' in queue.text
        assert f'data-events="/console/events?c={conversation}"' in page.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_timeline_tells_the_journey_in_order_with_who_and_when(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock, base_url=PUBLIC)
    step = timedelta(minutes=3)
    with serving(services) as origin, browser(origin) as alice, browser(origin) as sam:
        say(services, "vendor here, we want to connect amazon.de")
        clock.advance(step)
        click(services, "Yes")
        conversation = services.engine.conversation_id_for(CUSTOMER)
        assert conversation is not None
        first = services.engine.pending_link(conversation)
        assert first is not None
        clock.advance(step)
        services.engine.complete_link(first.state_token, {"region": "EU", "result": "cancelled",
                                                          "code": "access_denied"})
        clock.advance(step)
        click(services, "Send a new link")
        second = services.engine.pending_link(conversation)
        assert second is not None and second.state_token != first.state_token
        clock.advance(step)
        services.engine.complete_link(second.state_token, {
            "region": "EU", "result": "ok", "found": [{"country": "DE", "type": "vendor", "access": "edit",
                                                       "profile_id": 3000000001}],
            "found_types": ["vendor"], "matched": ["DE"], "missing": []})
        connection = add_connection(services, conversation)
        click(services, "Skip for now")
        clock.advance(step)
        services.engine.report_sync(connection, SyncReport("in_progress", 40), "sync:1")
        clock.advance(step)
        alice.sign_in("alice")
        assert alice.act(conversation, "handoff", text="asks about vendor central").status_code == 303
        clock.advance(step)
        sam.sign_in("sam")
        assert sam.act(conversation, "claim").status_code == 303
        clock.advance(step)
        assert sam.act(conversation, "reply", text="Looking at your profiles now.").status_code == 303

        page = sam.http.get(f"/console/c/{conversation}").text
        start = page.index('id="c-timeline"')
        timeline = page[start:page.index("</section>", start)]
        in_order = [
            "Sign-in link sent for EU (DE)",
            "Sign-in link for EU opened: the customer cancelled on Amazon&#39;s page, code access_denied",
            "Sign-in link sent for EU (DE)",
            "Sign-in link for EU opened: Amazon allowed it and lists the account the customer expects; 1 profile",
            "Advertising connection stored for EU",
            "Sync report: first sync under way at 40%",
            "Agent Alice (agent) handed the conversation to a strategist: “asks about vendor central”",
            "Case case-1 opened (agent_handoff), routed to data-strategists",
            "Strategist Sam (strategist) claimed the case",
            "Strategist Sam (strategist) replied to the customer: “Looking at your profiles now.”",
            "Due: the check that the first sync",
        ]
        at = 0
        for words in in_order:
            found = timeline.find(words, at)
            assert found >= 0, f"{words!r} is not in the timeline after position {at}:\n{timeline[at:at + 600]}"
            at = found + len(words)
        assert "DE vendor" in timeline, "the connection's profiles are listed"
        assert "2026-01-05 09:21" in timeline, "each moment says when"

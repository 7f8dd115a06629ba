"""The support console in a real browser (Debian's Chromium through Playwright) against `python -m bot serve`:
staff sign in through the stand-in identity provider, a customer talks in the widget on the mock platform page,
and each sees the other's moves live. Then what the console refuses, as a browser meets it.

One server and one browser for the module; each person has a browser context of their own (their own cookies).
"""

from __future__ import annotations

import json
import re
from base64 import b64encode
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")

from itsdangerous import TimestampSigner  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect  # noqa: E402

from tests.browser_support import Server, Shots, browser_reason, launched_chromium, run_server  # noqa: E402

if TYPE_CHECKING:
    from playwright._impl._api_structures import SetCookieParam

REASON = browser_reason()
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("console_browser"),
              *([pytest.mark.skip(reason=REASON)] if REASON else [])]

SESSION_SECRET = "console-browser-test-session-secret-0123456789"
FIRST = "hi, we're a vendor and want to connect"
REPLY = "Hi, Sam here. I can see your vendor account; let's get Germany connected."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from run_server(tmp_path_factory.mktemp("console"), CONSOLE_SESSION_SECRET=SESSION_SECRET,
                          CONSOLE_POLL_SECONDS="1")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_chromium()


@pytest.fixture
def people(browser: Browser) -> Iterator[dict[str, BrowserContext]]:
    """A browser of their own for each of the customer, the agent and the strategist."""
    contexts: dict[str, BrowserContext] = {}
    for who in ("customer", "alice", "sam"):
        contexts[who] = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts[who].set_default_timeout(15_000)
    yield contexts
    for context in contexts.values():
        context.close()


@pytest.fixture
def shots() -> Shots:
    return Shots()


# ---- the customer's widget ------------------------------------------------------------------------------------

def _widget(context: BrowserContext, server: Server) -> Page:
    page = context.new_page()
    page.goto(f"{server.base}/")
    page.locator("connectbot-chat .frame").wait_for()
    page.get_by_role("button", name="Help with connecting Amazon").click()
    page.get_by_role("dialog").wait_for()
    return page


def _say(page: Page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")


def _bubble(page: Page, kind: str, words: str) -> Locator:
    bubble = page.locator(f"connectbot-chat .msg.{kind}:not(.greeting)", has_text=words)
    bubble.last.wait_for()
    return bubble


# ---- staff ----------------------------------------------------------------------------------------------------

def _sign_in(context: BrowserContext, server: Server, name: str) -> Page:
    """From /console through the stand-in provider's page, as `name`, back to the queue, its stream up."""
    page = context.new_page()
    page.goto(f"{server.base}/console/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the support console")
    page.get_by_role("button", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Queue")
    _live(page)
    return page


def _live(page: Page) -> None:
    expect(page.locator("#live-status")).to_have_text("Updates live.")


def _stays(page: Page) -> None:
    """Marks the page, so `_stayed` can tell it was updated in place rather than loaded again."""
    page.evaluate("() => { window.notReloaded = true; }")


def _stayed(page: Page) -> bool:
    stayed: bool = page.evaluate("() => window.notReloaded === true")
    return stayed


def _forged_cookie(started: datetime) -> SetCookieParam:
    """Alice's session cookie as the console signs it, from a sign-in at `started`."""
    session = {"staff": {"sub": "staff-alice", "name": "Agent Alice", "email": "alice@example.com", "role": "agent"},
               "at": started.isoformat(), "csrf": "c" * 43}
    value = TimestampSigner(SESSION_SECRET).sign(b64encode(json.dumps(session).encode())).decode()
    # The console's own cookie: the same name, host and path, so it takes the place of one already there.
    return {"name": "connectbot_console", "value": value, "domain": "127.0.0.1", "path": "/console"}


def test_a_hand_off_claimed_answered_returned_and_resolved_each_seen_live(people: dict[str, BrowserContext],
                                                                          server: Server, shots: Shots) -> None:
    widget = _widget(people["customer"], server)
    _say(widget, FIRST)
    _bubble(widget, "bot", "Are both true?")

    sam = _sign_in(people["sam"], server, "Strategist Sam")
    expect(sam.get_by_text("Signed in as Strategist Sam (strategist)")).to_be_visible()
    _stays(sam)

    alice = _sign_in(people["alice"], server, "Agent Alice")
    live_row = alice.locator("#queue-live tbody tr").first
    expect(live_row).to_contain_text("demo")
    live_row.get_by_role("link").click()
    expect(alice.get_by_role("heading", level=1)).to_contain_text("Conversation c-")
    _live(alice)
    for strategists_only in ("Send reply", "Return to the bot", "Resolve"):
        expect(alice.get_by_role("button", name=strategists_only)).to_have_count(0)
    expect(alice.get_by_role("button", name=re.compile("^Claim"))).to_have_count(0)
    alice.get_by_label("Note for the strategist").fill("Vendor on amazon.de; wants a person to check access")
    alice.screenshot(path=shots.path("console-01-agent-hands-off"), full_page=True)
    alice.get_by_role("button", name="Hand off to a strategist").click()
    expect(alice.get_by_text(re.compile(r"case-\d+ is open; a strategist works it from here"))).to_be_visible()
    conversation_url = alice.url

    # The strategist's queue, open all along, shows the new case by itself.
    case_row = sam.locator("#queue-cases tbody tr", has_text="agent_handoff")
    expect(case_row).to_be_visible()
    assert _stayed(sam), "the queue was updated in place, not reloaded"
    expect(case_row).to_contain_text("Nobody yet")
    sam.screenshot(path=shots.path("console-02-queue-live"), full_page=True)

    case_row.get_by_role("link").click()
    expect(sam).to_have_url(conversation_url)
    expect(sam.locator("#c-timeline")).to_contain_text("Agent Alice (agent) handed the conversation to a strategist")
    sam.get_by_role("button", name=re.compile(r"^Claim case-")).click()
    expect(sam.locator("#c-facts")).to_contain_text("Strategist Sam")
    expect(sam.locator("#c-timeline")).to_contain_text("Strategist Sam (strategist) claimed the case")
    _live(sam)
    _bubble(widget, "bot", "picked up your case")

    sam.get_by_label("Reply to the customer").fill(REPLY)
    sam.get_by_role("button", name="Send reply").click()
    reply = _bubble(widget, "person", "Sam here")
    expect(reply.locator(".who")).to_have_text("Strategist Sam · Data Strategist")
    widget.screenshot(path=shots.path("console-03-reply-in-widget"))

    # The customer answers; the strategist's open conversation shows it without a reload.
    _live(sam)
    _stays(sam)
    _say(widget, "thanks, the login is the admin one")
    expect(sam.locator("#c-transcript li.customer", has_text="the login is the admin one")).to_have_count(1)
    assert _stayed(sam)
    widget.wait_for_timeout(500)
    expect(widget.locator("connectbot-chat .msg.person", has_text="Sam here")).to_have_count(1)
    expect(widget.locator("connectbot-chat .msg.bot", has_text="Sam here")).to_have_count(0)

    sam.get_by_label("Return to the bot at").select_option("region")
    sam.get_by_role("button", name="Return to the bot").click()
    expect(sam.locator("#c-facts")).to_contain_text(": returned")
    expect(sam.locator("#c-timeline")).to_contain_text("returned the conversation to the bot at the step “region”")
    _bubble(widget, "bot", "handed you back")
    _bubble(widget, "bot", "Which Amazon marketplaces")
    sam.screenshot(path=shots.path("console-04-returned"), full_page=True)

    # Asking for a person again opens a new case; the strategist's page offers its actions by itself.
    _live(sam)
    _stays(sam)
    _say(widget, "can I talk to a person again please")
    resolve = sam.get_by_role("button", name="Resolve")
    expect(resolve).to_be_visible()
    assert _stayed(sam)
    resolve.click()
    expect(sam.locator("#c-facts")).to_contain_text(": resolved")
    expect(sam.locator("#c-timeline")).to_contain_text("Strategist Sam (strategist) resolved the case")
    expect(sam.locator("#c-timeline li.case_opened")).to_have_count(2)  # both cases, each with its reason
    sam.screenshot(path=shots.path("console-05-resolved"), full_page=True)
    expect(widget.locator("connectbot-chat .msg.person", has_text="Sam here")).to_have_count(1)


def test_the_queue_keeps_up_by_polling_while_its_stream_is_down(people: dict[str, BrowserContext],
                                                                server: Server) -> None:
    sam = people["sam"]
    sam.route(re.compile(r"/console/events"), lambda route: route.abort())
    page = _sign_in_polling(sam, server)
    expect(page.locator("#live-status")).to_have_text("Live updates paused: checking every second.")
    _stays(page)
    widget = _widget(people["customer"], server)
    _say(widget, "hello, how long does the first sync take?")
    customer = str(widget.evaluate("() => localStorage.getItem('demo-user')"))
    expect(page.locator("#queue-live tbody tr", has_text=customer)).to_be_visible()
    assert _stayed(page)
    sam.unroute(re.compile(r"/console/events"))
    _live(page)  # the stream is tried again, and taken back once it answers


def _sign_in_polling(context: BrowserContext, server: Server) -> Page:
    page = context.new_page()
    page.goto(f"{server.base}/console/")
    page.get_by_role("button", name="Strategist Sam").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Queue")
    return page


def test_what_the_console_refuses(people: dict[str, BrowserContext], server: Server) -> None:
    # Anonymous, and a customer with the widget's identity: both are sent to sign in, the console shows nothing.
    widget = _widget(people["customer"], server)
    for who in ("sam", "customer"):
        page = people[who].new_page()
        page.goto(f"{server.base}/console/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the support console")
        assert "/idp/authorize" in page.url
        page.close()

    # An agent is offered no strategist's action, and a strategist's action posted anyway is refused.
    _say(widget, FIRST)
    _bubble(widget, "bot", "Are both true?")
    alice = _sign_in(people["alice"], server, "Agent Alice")
    alice.locator("#queue-live tbody tr").first.get_by_role("link").click()
    alice.get_by_role("button", name="Hand off to a strategist").click()
    expect(alice.get_by_text(re.compile(r"case-\d+ is open"))).to_be_visible()
    expect(alice.get_by_role("button", name=re.compile("^Claim"))).to_have_count(0)
    csrf = alice.locator("input[name=csrf]").first.get_attribute("value") or ""
    fields: dict[str, str | float | bool] = {"csrf": csrf, "once": "posted-by-hand-0001"}  # the session's own token
    claim = people["alice"].request.post(f"{alice.url}/claim", form=fields, max_redirects=0)
    assert claim.status == 403 and "Your role does not allow this action" in claim.text()
    forged = people["alice"].request.post(f"{alice.url}/handoff", form={**fields, "csrf": "forged"}, max_redirects=0)
    missing = people["alice"].request.post(f"{alice.url}/handoff", form={"once": fields["once"]}, max_redirects=0)
    for refused in (forged, missing):
        assert refused.status == 403 and "did not come from the console" in refused.text()
    # The same refusal, met by a person: a form whose token was tampered with.
    alice.locator("form[action$='/logout'] input[name=csrf]").evaluate("el => { el.value = 'forged'; }")
    alice.get_by_role("button", name="Sign out").click()
    expect(alice.get_by_role("alert")).to_contain_text("This form has expired or did not come from the console")

    # A session signed in nine hours ago has ended: the page says so and signing in again carries on.
    late = people["sam"]
    late.clear_cookies()
    late.add_cookies([_forged_cookie(datetime.now(UTC) - timedelta(hours=9))])
    page = late.new_page()
    page.goto(f"{server.base}/console/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your session has ended")
    expect(page.get_by_role("alert")).to_contain_text("lasts 8 hours")
    page.get_by_role("link", name="Sign in again").click()
    page.get_by_role("button", name="Agent Alice").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Queue")


def test_an_open_page_whose_session_ends_goes_to_sign_in_by_itself(people: dict[str, BrowserContext],
                                                                   server: Server) -> None:
    alice = _sign_in(people["alice"], server, "Agent Alice")
    # The browser now holds a sign-in that ended; the next change makes the page read itself and find out.
    people["alice"].add_cookies([_forged_cookie(datetime.now(UTC) - timedelta(hours=9))])
    widget = _widget(people["customer"], server)
    _say(widget, "hello")
    expect(alice.get_by_role("heading", level=1)).to_have_text("Your session has ended")

"""The widget in a real browser (Debian's Chromium through Playwright) against `python -m bot serve`, on the
embedded default's mock platform page: what a customer sees and can do.

One server and one browser for the module; each test has a fresh browser context, so a new customer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")

from playwright.sync_api import Browser, BrowserContext, Locator, Page, Route, expect  # noqa: E402

from tests.browser_support import Server, Shots, browser_reason, launched_chromium, run_server  # noqa: E402

REASON = browser_reason()
# One xdist worker for the module: one server and one browser, not one per worker.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("widget_browser"),
              *([pytest.mark.skip(reason=REASON)] if REASON else [])]

FIRST = "hi, we're a vendor and want to connect"
PREREQUISITES = "Are both true?"
MARKETPLACES = "Which Amazon marketplaces"
CONNECTED = "Connected: Amazon lists your vendor account in Germany"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from run_server(tmp_path_factory.mktemp("widget"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launched_chromium()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    fresh = browser.new_context(viewport={"width": 1280, "height": 800})
    fresh.set_default_timeout(20_000)
    yield fresh
    fresh.close()


@pytest.fixture
def shots() -> Shots:
    return Shots()


def _open(page: Page, server: Server, opened: bool = True) -> None:
    page.goto(f"{server.base}/")
    page.locator("connectbot-chat .frame").wait_for()
    page.wait_for_timeout(300)  # the widget reopens by itself when this customer left it open
    if opened and not page.get_by_role("dialog").is_visible():
        page.get_by_role("button", name="Help with connecting Amazon").click()
        page.get_by_role("dialog").wait_for()


def _say(page: Page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")


def _bot_says(page: Page, words: str) -> Locator:
    """The bot's bubble with these words, once it is shown."""
    bubble = page.locator("connectbot-chat .msg.bot:not(.greeting)", has_text=words)
    bubble.last.wait_for()
    return bubble


def _texts(page: Page) -> list[str]:
    return [t.strip() for t in page.locator("connectbot-chat .msg:not(.greeting) .text").all_inner_texts()]


def _settled(page: Page) -> None:
    """Nothing still on its way: no bubble pending, no typing indicator."""
    page.wait_for_function("""() => {
        const root = document.querySelector("connectbot-chat").shadowRoot;
        return !root.querySelector(".msg.pending") && root.querySelector(".typing").hidden;
    }""")


def _to_signin_link(page: Page) -> Locator:
    _say(page, FIRST)
    _bot_says(page, PREREQUISITES)
    page.get_by_role("button", name="Yes", exact=True).click()
    _bot_says(page, MARKETPLACES)
    _say(page, "amazon.de")
    link = page.locator("connectbot-chat a.signin")
    link.wait_for()
    return link


def _user(page: Page) -> str:
    user: str = page.evaluate("() => localStorage.getItem('demo-user')")
    return user


def test_the_whole_journey_through_amazons_page_and_back(context: BrowserContext, server: Server,
                                                       shots: Shots) -> None:
    page = context.new_page()
    _open(page, server, opened=False)
    page.screenshot(path=shots.path("01-closed-launcher"))
    page.get_by_role("button", name="Help with connecting Amazon").click()
    expect(page.get_by_role("dialog", name="Connect your Amazon account")).to_be_visible()
    expect(page.locator("connectbot-chat .greeting")).to_contain_text("Hello, I am Connectbot")
    expect(page.get_by_label("Your message")).to_be_focused()
    page.screenshot(path=shots.path("02-greeting"))
    # The host page styles every button (serif, upper case); none of it reaches into the widget.
    host_button = page.get_by_role("button", name="Manage").first.evaluate("b => getComputedStyle(b).textTransform")
    starter = page.get_by_role("button", name="Talk to a person")
    assert host_button == "uppercase" and starter.evaluate("b => getComputedStyle(b).textTransform") == "none"
    assert "Georgia" not in starter.evaluate("b => getComputedStyle(b).fontFamily")

    _say(page, FIRST)
    question = _bot_says(page, PREREQUISITES)
    expect(question.locator(".who")).to_have_text("Connectbot")
    expect(page.locator("connectbot-chat .msg.customer .who").first).to_have_text("You")
    assert re.fullmatch(r"\d{1,2}:\d{2}( [AP]M)?", question.locator("time").inner_text().strip())
    page.get_by_role("button", name="Yes", exact=True).click()
    _bot_says(page, MARKETPLACES)
    _settled(page)
    at_end = "el => el.scrollHeight - el.scrollTop - el.clientHeight < 2"
    assert page.locator("connectbot-chat .log").evaluate(at_end), "the reply is in view"
    yes = question.get_by_role("button", name="Yes", exact=True)
    expect(yes).to_be_disabled()
    expect(yes).to_have_attribute("aria-pressed", "true")
    expect(question.get_by_role("button", name="No", exact=True)).to_be_disabled()
    page.screenshot(path=shots.path("03-choices-answered"))

    _say(page, "amazon.de")
    link = page.locator("connectbot-chat a.signin")
    expect(link).to_contain_text("Sign in with Amazon")
    link.scroll_into_view_if_needed()
    page.screenshot(path=shots.path("04-signin-button"))

    with context.expect_page() as opened:
        link.click()
    amazon = opened.value
    amazon.wait_for_load_state()
    expect(amazon.get_by_role("heading", level=1)).to_contain_text("Login with Amazon")
    amazon.get_by_label(re.compile("Advertising accounts Amazon lists")).fill("DE:vendor")
    amazon.screenshot(path=shots.path("05-consent-page"), full_page=True)
    amazon.get_by_role("button", name="Allow", exact=True).click()
    expect(amazon.get_by_role("heading", level=1)).to_have_text("Connected")
    amazon.screenshot(path=shots.path("06-callback-page"), full_page=True)

    # The tab the customer left shows the result by itself (pushed, not reloaded) ...
    _bot_says(page, CONNECTED)
    # ... and the page's way back opens the conversation with the result in it.
    amazon.get_by_role("link", name="Back to the conversation").click()
    amazon.wait_for_url(re.compile(r"#connectbot$"))
    expect(amazon.get_by_role("dialog")).to_be_visible()
    _bot_says(amazon, CONNECTED)
    _settled(amazon)
    amazon.screenshot(path=shots.path("07-back-in-chat-connected"))
    assert _texts(amazon) == _texts(page), "both tabs show the same conversation"
    assert _texts(amazon).count(FIRST) == 1 and sum(CONNECTED in t for t in _texts(amazon)) == 1


def test_a_reload_keeps_both_sides_of_the_conversation(context: BrowserContext, server: Server) -> None:
    page = context.new_page()
    _open(page, server)
    _say(page, FIRST)
    _bot_says(page, PREREQUISITES)
    page.get_by_role("button", name="No", exact=True).click()
    _settled(page)
    before = _texts(page)
    page.reload()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.locator("connectbot-chat .msg.customer").nth(1).wait_for()
    _settled(page)
    assert _texts(page) == before and before[0] == FIRST and "No" in before
    answered = _bot_says(page, PREREQUISITES).get_by_role("button", name="No", exact=True)
    expect(answered).to_have_attribute("aria-pressed", "true")
    expect(answered).to_be_disabled()
    expect(page.locator("connectbot-chat .greeting .choices")).to_be_hidden()


def test_a_slow_network_shows_every_message_once(context: BrowserContext, server: Server) -> None:
    page = context.new_page()

    def slow(route: Route) -> None:
        page.wait_for_timeout(1500)
        route.continue_()

    page.route(re.compile(r"/api/chat/"), slow)
    _open(page, server)
    _say(page, FIRST)
    _bot_says(page, PREREQUISITES)
    page.get_by_role("button", name="Yes", exact=True).click()
    _bot_says(page, MARKETPLACES)
    _say(page, "amazon.de")
    page.locator("connectbot-chat a.signin").wait_for()
    _settled(page)
    page.wait_for_timeout(4000)  # the stream, the POST answers and any poll have all arrived by now
    texts = _texts(page)
    assert len(texts) == len(set(texts)), f"a message is shown twice: {texts}"
    assert texts[0] == FIRST and texts.count("Yes") == 1 and texts.count("amazon.de") == 1
    ids = page.locator("connectbot-chat .msg[data-id]").evaluate_all("els => els.map(e => Number(e.dataset.id))")
    assert ids == sorted(set(ids)) and len(ids) == len(texts)


def test_an_answer_lost_on_the_way_back_is_sent_again_and_shown_once(context: BrowserContext,
                                                                     server: Server) -> None:
    page = context.new_page()
    lost: list[str] = []

    def lose_first_answer(route: Route) -> None:
        if route.request.method == "POST" and not lost:
            route.fetch()  # the server handles it ...
            lost.append(route.request.url)
            route.abort("connectionreset")  # ... and the answer never arrives
            return
        route.continue_()

    page.route(re.compile(r"/api/chat/messages$"), lose_first_answer)
    _open(page, server)
    _say(page, FIRST)
    _bot_says(page, PREREQUISITES)
    _settled(page)
    page.wait_for_timeout(1500)
    assert lost and _texts(page).count(FIRST) == 1
    assert sum(PREREQUISITES in t for t in _texts(page)) == 1


def test_offline_and_back_the_chat_says_so_and_loses_nothing(context: BrowserContext, server: Server,
                                                            shots: Shots) -> None:
    page = context.new_page()
    _open(page, server)
    _say(page, FIRST)
    _bot_says(page, PREREQUISITES)
    _settled(page)
    context.set_offline(True)
    status = page.locator("connectbot-chat .status")
    _say(page, "Not sure")
    page.get_by_role("button", name="Send again").wait_for(timeout=30_000)
    expect(status).to_contain_text("Not sent")
    expect(page.get_by_label("Your message")).to_have_value("")
    page.screenshot(path=shots.path("10-offline"))
    context.set_offline(False)
    page.get_by_role("button", name="Send again").click()
    _bot_says(page, "You can check both in the Amazon Ads console")  # the answer to "Not sure"
    _settled(page)
    assert _texts(page).count("Not sure") == 1
    expect(page.locator("connectbot-chat .msg.failed")).to_have_count(0)
    expect(status).not_to_contain_text("Not sent")


def test_old_buttons_cannot_be_pressed_and_a_stale_answer_says_why(context: BrowserContext, server: Server) -> None:
    first = context.new_page()
    _open(first, server)
    _say(first, FIRST)
    question = _bot_says(first, PREREQUISITES)
    # A second tab of the same customer, which does not hear about what the first one does.
    second = context.new_page()
    second.route(re.compile(r"/api/chat/(stream|messages\?after=[1-9])"), lambda route: route.abort())
    _open(second, server)
    _bot_says(second, PREREQUISITES)
    first.get_by_role("button", name="Yes", exact=True).click()
    _bot_says(first, MARKETPLACES)
    # The old question's buttons are disabled; clicking one anyway sends nothing.
    no = question.get_by_role("button", name="No", exact=True)
    expect(no).to_be_disabled()
    no.dispatch_event("click")
    first.wait_for_timeout(500)
    assert _texts(first).count("No") == 0
    # The second tab still offers them; its answer is refused in plain words and leaves nothing behind.
    second.get_by_role("button", name="Not sure", exact=True).click()
    expect(second.locator("connectbot-chat .status")).not_to_be_empty()
    status = second.locator("connectbot-chat .status").inner_text()
    assert "409" not in status and "error" not in status.lower() and len(status) > 20
    assert "Not sure" not in _texts(second)


def test_a_strategists_reply_is_shown_as_a_persons(context: BrowserContext, server: Server, shots: Shots) -> None:
    page = context.new_page()
    _open(page, server)
    _say(page, "I want to talk to a person")
    _bot_says(page, "Data Strategist")
    _settled(page)
    page.keyboard.press("Escape")  # the customer closes the chat and waits
    server.strategist(_user(page), "demo", {"strategist": {"action": "claim", "by": "Priya Raman"}},
                      {"strategist": {"action": "reply", "by": "Priya Raman",
                                      "text": "Hi, Priya here. I can see your account; let's get it connected."}})
    badge = page.locator("connectbot-chat .badge")
    expect(badge).to_have_text("2")  # the claim and the reply, waiting on the closed launcher
    page.get_by_role("button", name="Help with connecting Amazon").click()
    expect(badge).to_be_hidden()
    reply = page.locator("connectbot-chat .msg.person", has_text="Priya here")
    reply.wait_for()
    expect(reply.locator(".who")).to_have_text("Priya Raman · Data Strategist")
    assert page.locator("connectbot-chat .msg.bot", has_text="Priya here").count() == 0
    page.screenshot(path=shots.path("08-strategist-reply"))


def test_at_360_pixels_the_panel_fits_and_nothing_scrolls_sideways(browser: Browser, server: Server,
                                                                   shots: Shots) -> None:
    phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    try:
        page = phone.new_page()
        _open(page, server)
        _say(page, FIRST + " https://advertising.amazon.com/" + "x" * 120)
        _bot_says(page, PREREQUISITES)
        _settled(page)
        page.screenshot(path=shots.path("09-360px"))
        width = page.evaluate("() => document.documentElement.scrollWidth")
        box = page.get_by_role("dialog").bounding_box()
        assert width <= 360, f"the page scrolls sideways ({width}px wide)"
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["height"] <= 740
        log_scroll = page.locator("connectbot-chat .log").evaluate("el => el.scrollWidth - el.clientWidth")
        assert log_scroll == 0
        for button in page.locator("connectbot-chat .choices button:visible").all():
            choice = button.bounding_box()
            assert choice is not None and choice["x"] + choice["width"] <= 360
    finally:
        phone.close()


def test_keyboard_only(context: BrowserContext, server: Server) -> None:
    page = context.new_page()
    _open(page, server, opened=False)
    focused = "() => document.querySelector('connectbot-chat').shadowRoot.activeElement?.className || ''"
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate(focused) == "launcher":
            break
    assert page.evaluate(focused) == "launcher", "Tab never reaches the launcher"
    page.keyboard.press("Enter")
    expect(page.get_by_label("Your message")).to_be_focused()
    page.keyboard.type(FIRST)
    page.keyboard.press("Enter")
    _bot_says(page, PREREQUISITES)
    _settled(page)
    label = "() => document.querySelector('connectbot-chat').shadowRoot.activeElement?.textContent || ''"
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        if page.evaluate(label) == "Yes":
            break
    assert page.evaluate(label) == "Yes", "Tab never reaches the choice"
    page.keyboard.press("Space")
    _bot_says(page, MARKETPLACES)
    assert "Yes" in _texts(page)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert page.evaluate(focused) == "launcher", "closing gives the focus back to the launcher"


def test_after_a_server_restart_the_widget_carries_on_by_itself(context: BrowserContext,
                                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    """A restart drops the stream and, in the embedded default, changes the development secret (old tokens get
    401): the widget reconnects, fetches a fresh identity from the host page and goes on, nothing lost or doubled."""
    directory = tmp_path_factory.mktemp("restart")
    page = context.new_page()
    first = run_server(directory)
    server = next(first)
    port = int(server.base.rsplit(":", 1)[1])
    _open(page, server)
    _say(page, FIRST)
    _bot_says(page, PREREQUISITES)
    _settled(page)
    next(first, None)  # stopped
    again = run_server(directory, port)
    next(again)
    try:
        page.get_by_role("button", name="Yes", exact=True).click()
        _bot_says(page, MARKETPLACES)
        _settled(page)
        texts = _texts(page)
        assert texts[0] == FIRST and texts.count("Yes") == 1 and len(texts) == len(set(texts))
        page.reload()
        _bot_says(page, MARKETPLACES)
        _settled(page)
        assert _texts(page) == texts
    finally:
        next(again, None)

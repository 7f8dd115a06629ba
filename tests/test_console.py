"""The support console over real HTTP, signed in through the stand-in OpenID provider: the work and the refusals."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.app import Services
from bot.channels.console.idp import STANDIN_CLIENT_ID, STANDIN_CLIENT_SECRET
from bot.store.rows import CASES
from tests.conftest import ServicesFactory
from tests.fakes.app_server import serving
from tests.fakes.host_app import bearer, sign
from tests.fakes.staff_browser import PUBLIC, hidden_fields
from tests.fakes.staff_browser import staff_browser as browser

RELAYED = "Your account is linked now, please try the sync again"


def _customer_says(origin: str, services: Services, mid: str, text: str) -> int:
    sent = httpx.post(f"{origin}/api/chat/messages", json={"client_message_id": mid, "text": text},
                      headers=bearer(sign(services.clock)))
    assert sent.status_code == 200, sent.text
    return int(sent.json()["conversation"].removeprefix("c-"))


def _history(origin: str, services: Services) -> list[dict[str, object]]:
    got = httpx.get(f"{origin}/api/chat/messages", headers=bearer(sign(services.clock)))
    assert got.status_code == 200
    messages: list[dict[str, object]] = got.json()["messages"]
    return messages


def _case(services: Services, conversation_id: int) -> dict[str, object]:
    with services.db.connect() as conn:
        row = conn.execute(select(CASES).where(CASES.c.conversation_id == conversation_id)
                           .order_by(CASES.c.id.desc())).first()
    assert row is not None
    return dict(row._mapping)


def test_an_agent_hands_off_and_a_strategist_works_the_case_to_the_customers_widget(
        make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC)
    with serving(services) as origin, browser(origin) as alice, browser(origin) as sam:
        conversation = _customer_says(origin, services, "m1", "hi, we're a vendor and want to connect")
        queue = alice.sign_in("alice")
        cookie = next(v for k, v in queue.request.headers.items() if k == "cookie")
        assert "connectbot_console=" in cookie
        assert queue.status_code == 200 and "Agent Alice (agent)" in queue.text
        assert f'href="/console/c/{conversation}"' in queue.text, "the live conversation is in the queue"
        assert "Claim" not in alice.http.get(f"/console/c/{conversation}").text, "an agent is offered no claim"

        handed = alice.act(conversation, "handoff", text="asks about vendor central access")
        assert handed.status_code == 303
        case = _case(services, conversation)
        assert case["status"] == "open" and case["reason"] == "agent_handoff"

        queue = sam.sign_in("sam")
        assert "Strategist Sam (strategist)" in queue.text and f"case-{case['id']}" in queue.text
        assert sam.act(conversation, "claim").status_code == 303
        claimed = _case(services, conversation)
        assert claimed["status"] == "claimed" and claimed["claimed_by"] == "Strategist Sam"

        form = sam.form(conversation)
        for _ in range(2):  # a double submit of the same form is relayed once
            sent = sam.http.post(f"/console/c/{conversation}/reply", data={**form, "text": RELAYED})
            assert sent.status_code == 303
        relayed = [m for m in _history(origin, services) if RELAYED in str(m.get("text"))]
        assert len(relayed) == 1, "the customer sees the reply exactly once"
        page = sam.http.get(f"/console/c/{conversation}").text
        assert "Agent Alice (agent), handoff" in page and "Strategist Sam (strategist), claim" in page
        assert "<strong>Customer</strong>" in page and "asks about vendor central access" in page
        assert page.count("Strategist Sam (relayed by the bot)</strong>") == 1 and RELAYED in page

        assert sam.act(conversation, "return", to_step="region").status_code == 303
        returned = _case(services, conversation)
        assert returned["status"] == "returned" and returned["closed_at"] is not None


def test_a_strategist_resolves_a_case(make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC)
    with serving(services) as origin, browser(origin) as sam:
        conversation = _customer_says(origin, services, "m1", "hi, we're a vendor and want to connect")
        sam.sign_in("sam")
        assert sam.act(conversation, "handoff", text="stuck").status_code == 303
        assert sam.act(conversation, "resolve").status_code == 303
        assert _case(services, conversation)["status"] == "resolved"


def test_who_may_not_act(make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC)
    with serving(services) as origin, browser(origin) as alice, browser(origin) as nobody:
        conversation = _customer_says(origin, services, "m1", "hi, we're a vendor and want to connect")
        anonymous = nobody.http.get(f"/console/c/{conversation}")
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/console/login"
        posted = nobody.http.post(f"/console/c/{conversation}/handoff", data={"text": "x"})
        assert posted.status_code == 303 and posted.headers["location"] == "/console/login"
        as_customer = nobody.http.get("/console/", headers=bearer(sign(services.clock)))
        assert as_customer.status_code == 303, "a customer's in-app token never opens the console"

        alice.sign_in("alice")
        assert alice.act(conversation, "handoff").status_code == 303
        refused = alice.act(conversation, "claim")
        assert refused.status_code == 403 and "role does not allow" in refused.text
        assert _case(services, conversation)["status"] == "open"

        form = alice.form(conversation)
        forged = alice.http.post(f"/console/c/{conversation}/handoff", data={**form, "csrf": "forged"})
        missing = alice.http.post(f"/console/c/{conversation}/handoff",
                                  data={k: v for k, v in form.items() if k != "csrf"})
        assert forged.status_code == 403 and missing.status_code == 403


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_session_expires_on_the_service_clock(make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC, console_session_hours=1.0)
    with serving(services) as origin, browser(origin) as alice:
        alice.sign_in("alice")
        assert alice.http.get("/console/").status_code == 200
        services.clock.advance(timedelta(hours=1, minutes=1))  # type: ignore[attr-defined]
        expired = alice.http.get("/console/")
        assert expired.status_code == 303 and expired.headers["location"] == "/console/login"


def test_the_session_cookie_is_httponly_lax_expiring_and_scoped_to_the_console(make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC)
    with serving(services) as origin, browser(origin) as alice:
        login = alice.http.get("/console/login")
        set_cookie = login.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/console" in set_cookie
        assert "max-age=28800" in set_cookie and "secure" not in set_cookie, "plain http is fine on localhost only"


def test_the_queue_orders_cases_by_sla_overdue_then_mine_and_filters(make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC, case_sla="4h")
    with serving(services) as origin, browser(origin) as sam:
        sam.sign_in("sam")
        first = _customer_says(origin, services, "m1", "hi, we're a vendor and want to connect")
        second = httpx.post(f"{origin}/api/chat/messages", json={"client_message_id": "m1", "text": "hello"},
                            headers=bearer(sign(services.clock, user="u2", org="globex"))).json()["conversation"]
        second_id = int(second.removeprefix("c-"))
        sam.act(first, "handoff", text="one")
        sam.act(second_id, "handoff", text="two")
        sam.act(second_id, "claim")
        queue = sam.http.get("/console/").text
        assert queue.index(f"/console/c/{second_id}") < queue.index(f"/console/c/{first}"), "mine first"
        assert "Claimed by me" in queue and "Overdue" not in queue
        services.clock.advance(timedelta(hours=4, minutes=1))  # type: ignore[attr-defined]
        later = sam.http.get("/console/").text
        assert later.index(f"/console/c/{first}") < later.index(f"/console/c/{second_id}"), "overdue first"
        assert "<strong>Overdue</strong>" in later
        only_globex = sam.http.get("/console/", params={"q": "GLOB"}).text
        assert f"/console/c/{second_id}" in only_globex and f"/console/c/{first}" not in only_globex
        webchat = sam.http.get("/console/", params={"channel": "slack"}).text
        assert "/console/c/" not in webchat


def test_the_stand_in_provider_refuses_a_wrong_pkce_verifier_and_a_forged_state(
        make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC)
    with serving(services) as origin, browser(origin) as alice:
        discovery = alice.http.get("/idp/.well-known/openid-configuration").json()
        assert discovery["issuer"] == f"{PUBLIC}/idp" and discovery["code_challenge_methods_supported"] == ["S256"]
        assert alice.http.get("/idp/jwks").json()["keys"][0]["alg"] == "RS256"
        to_idp = alice.http.get("/console/login").headers["location"]
        picker = alice.http.get(to_idp)
        back = alice.http.post("/idp/authorize", data={**hidden_fields(picker.text), "who": "alice"})
        code = httpx.URL(back.headers["location"]).params["code"]
        wrong = alice.http.post("/idp/token", data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": f"{PUBLIC}/console/callback",
            "code_verifier": "not-the-verifier-" + "x" * 40, "client_id": STANDIN_CLIENT_ID,
            "client_secret": STANDIN_CLIENT_SECRET})
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        forged = alice.http.get("/console/callback", params={"code": "whatever", "state": "forged"})
        assert forged.status_code == 400 and "Sign-in did not complete" in forged.text
        assert alice.http.get("/console/").status_code == 303, "still not signed in"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_sign_in_begun_on_another_name_of_the_host_moves_to_base_urls_host_first(
        make_services: ServicesFactory) -> None:
    """Opened as http://localhost:8000 with BASE_URL at 127.0.0.1: the sign-in's state cookie must be set on the
    host the provider sends the browser back to, or the way back is refused."""
    services = make_services(base_url=PUBLIC)
    with serving(services) as origin:
        other_name = origin.replace("127.0.0.1", "localhost")
        moved = httpx.get(f"{other_name}/console/login")
        assert moved.status_code == 303 and moved.headers["location"] == f"{PUBLIC}/console/login"
        assert "set-cookie" not in moved.headers, "no sign-in state is left on the other name"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_agent_sees_what_the_bot_knows_before_any_case(make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC)
    with serving(services) as origin, browser(origin) as alice:
        conversation = _customer_says(origin, services, "m1", "we're a seller on amazon.de and amazon.co.jp")
        alice.sign_in("alice")
        page = alice.http.get(f"/console/c/{conversation}").text
        known = page[page.index('id="known"'):page.index("</section>", page.index('id="known"'))]
        assert "<dd>Seller</dd>" in known and "<dd>DE, JP</dd>" in known
        assert "<dd>Europe, Far East</dd>" in known, "the regions of the marketplaces the customer named"
        assert "<dd>Not started</dd>" in known and "No open cases" not in page

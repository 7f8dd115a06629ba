"""A strategist returns the conversation to verify a fix: the bot asks Amazon again with the stored grant.

The customer signs in once; after the owner fixes access on Amazon's side, the re-check connects
without a second sign-in. A grant withdrawn at Amazon gets a fresh link instead.
"""

from __future__ import annotations

from typing import Any

from bot.amazon.client import AmazonApi
from bot.amazon.recheck import Rechecker
from bot.amazon.sandbox.grants import ChosenProfile
from bot.channels.scripted_browser import Decision
from bot.types import InboundKind
from tests.conftest import ServicesFactory
from tests.fakes.amazon_site import Site, reach_signin_link, running_site
from tests.fakes.talk import event, say


def _viewer_only_then_returned(site: Site) -> None:
    reach_signin_link(site.services, "vendor", "amazon.de")
    _, messages = site.sign_in(Decision("allow", "DE:vendor:view"))
    assert "Viewer access" in messages[-1]["text"]
    say(site.services, "can a real person help me please")
    event(site.services, InboundKind.STRATEGIST, {"action": "claim", "by": "Lee"})
    returned = event(site.services, InboundKind.STRATEGIST, {"action": "return", "to_step": "verify"})
    assert "checking your connection with Amazon again" in "\n".join(m.text for m in returned.messages)


def _recheck(site: Site) -> list[dict[str, Any]]:
    engine = site.services.engine
    results = Rechecker(engine, site.services.vault, AmazonApi(site.services.settings)).run_due()
    return [{"topic": m.topic.value, "text": m.text, "links": m.links} for r in results for m in r.messages]


def test_after_the_owner_grants_access_the_recheck_connects_without_a_new_sign_in(
        make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        _viewer_only_then_returned(site)
        for grant in site.sandbox.grants.refresh.values():  # the owner gives the login View and Edit
            grant.profiles[:] = [ChosenProfile("DE", "vendor", "edit")]
        said = _recheck(site)
        assert said[0]["text"].startswith("Connected: Amazon lists your vendor account in Germany")
        assert not any(m["links"] for m in said), "no second sign-in was needed"
        assert _recheck(site) == [], "a re-check runs once"


def test_a_withdrawn_grant_gets_a_fresh_link(make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        _viewer_only_then_returned(site)
        site.sandbox.grants.refresh.clear()  # the access was removed at Amazon
        said = _recheck(site)
        assert "no longer accepts the access granted earlier" in said[0]["text"]
        assert any(m["links"] for m in said), "a fresh sign-in link comes with it"


def test_without_a_stored_grant_verify_sends_a_link(make_services: ServicesFactory) -> None:
    with running_site(make_services) as site:
        reach_signin_link(site.services, "vendor", "amazon.de")
        say(site.services, "i want to talk to a human")
        event(site.services, InboundKind.STRATEGIST, {"action": "claim", "by": "Lee"})
        returned = event(site.services, InboundKind.STRATEGIST, {"action": "return", "to_step": "verify"})
        assert any(m.links for m in returned.messages)
        assert _recheck(site) == []

"""Cases outside the flows: business hours, SLA due times, routing; and what the engine writes on the case row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.app import Services
from bot.cases.hours import BusinessHours
from bot.cases.policy import CasePolicy, parse_routes
from bot.clock import ManualClock
from bot.store.rows import CASES, TIMERS
from bot.types import Inbound, InboundKind
from flows.answers import rating_in
from tests.conftest import ServicesFactory
from tests.fakes.talk import CUSTOMER, click, event, say

MONDAY_9 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
OFFICE = BusinessHours.parse("Mon-Fri 09:00-18:00", "UTC")


@pytest.mark.parametrize(("opened", "due"), [
    (MONDAY_9, MONDAY_9 + timedelta(minutes=30)),
    (MONDAY_9.replace(hour=17, minute=50), MONDAY_9 + timedelta(days=1, minutes=20)),  # overnight
    (MONDAY_9 + timedelta(days=4, hours=8, minutes=50), MONDAY_9 + timedelta(days=7, minutes=20)),  # Fri -> Mon
    (MONDAY_9 + timedelta(days=5, hours=3), MONDAY_9 + timedelta(days=7, minutes=30)),  # Saturday
    (MONDAY_9.replace(hour=3), MONDAY_9 + timedelta(minutes=30)),  # before opening
])
def test_the_sla_counts_business_hours_only(opened: datetime, due: datetime) -> None:
    assert OFFICE.add(opened, timedelta(minutes=30)) == due


def test_business_hours_follow_the_local_clock_across_daylight_saving() -> None:
    berlin = BusinessHours.parse("Mon-Fri 09:00-18:00", "Europe/Berlin")
    friday_evening = datetime(2026, 3, 27, 16, 50, tzinfo=UTC)  # 17:50 in Berlin (CET)
    assert berlin.add(friday_evening, timedelta(minutes=30)) == datetime(2026, 3, 30, 7, 20, tzinfo=UTC)  # CEST


@pytest.mark.parametrize("spec", ["Mon-Fri 9-5", "Someday 09:00-18:00", "Mon-Fri 18:00-09:00", "Mon 09:00-25:00"])
def test_unreadable_business_hours_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="business hours|not a time"):
        BusinessHours.parse(spec, "UTC")


def test_routing_prefers_the_organization_then_the_region() -> None:
    policy = CasePolicy(OFFICE, routes=parse_routes('{"region:EU": "eu-team", "org:globex": "gina"}'),
                        default_route="everyone", backup="lead")
    assert policy.route("globex", ["EU"]) == "gina"
    assert policy.route("acme", ["NA", "EU"]) == "eu-team"
    assert policy.route("acme", ["FE"]) == "everyone"
    with pytest.raises(ValueError, match="org:<org>"):
        parse_routes('{"team:x": "y"}')


@pytest.mark.parametrize(("said", "rating"), [
    ("it was great, thanks!", "good"), ("Good", "good"), ("meh", "ok"), ("not bad", "ok"),
    ("not helpful at all", "bad"), ("terrible", "bad"), ("how do I add another marketplace?", None),
    ("can you also check amazon.fr", None),
])
def test_a_rating_in_words_is_read(said: str, rating: str | None) -> None:
    assert rating_in(said) == rating


def _case(services: Services, case_id: int = 1) -> dict[str, object]:
    with services.db.connect() as conn:
        return dict(conn.execute(select(CASES).where(CASES.c.id == case_id)).one()._mapping)


def test_a_case_is_routed_reminded_escalated_and_rated(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock, strategist_routes={"region:EU": "eu-team"}, strategist_backup="lead")
    say(services, "vendor on amazon.de, can I talk to a person")
    opened = _case(services)
    assert opened["routed_to"] == "eu-team" and opened["status"] == "open"
    clock.advance(timedelta(minutes=31))
    reminder = services.engine.fire_due_timers()
    assert [m.audience.value for r in reminder for m in r.messages] == ["strategist"]
    clock.advance(timedelta(minutes=30))
    escalation = services.engine.fire_due_timers()
    assert "lead" in escalation[0].messages[0].text
    escalated = _case(services)
    assert escalated["routed_to"] == "lead" and escalated["escalated_at"] is not None
    event(services, InboundKind.STRATEGIST, {"action": "claim", "by": "Lee"})
    event(services, InboundKind.STRATEGIST, {"action": "resolve", "by": "Lee"})
    click(services, "Bad")
    closed = _case(services)
    assert (closed["status"], closed["claimed_by"], closed["rating"]) == ("resolved", "Lee", "bad")
    assert closed["rated_at"] is not None


def test_claiming_cancels_the_case_reminders(make_services: ServicesFactory) -> None:
    clock = ManualClock()
    services = make_services(clock=clock)
    say(services, "I want to speak to a human")
    event(services, InboundKind.STRATEGIST, {"action": "claim", "by": "Sam"})
    clock.advance(timedelta(days=3))
    assert services.engine.fire_due_timers() == []
    with services.db.connect() as conn:
        kinds = dict(conn.execute(select(TIMERS.c.kind, TIMERS.c.status)).all())
    assert kinds == {"case_reminder": "cancelled", "case_escalation": "cancelled"}


def test_a_relayed_reply_delivered_twice_reaches_the_customer_once(make_services: ServicesFactory) -> None:
    services = make_services()
    say(services, "I want to speak to a human")
    reply = Inbound(InboundKind.STRATEGIST, "slack:evt-42", data={"action": "reply", "text": "Hi, Sam here"})
    first = services.engine.handle(CUSTOMER, reply)
    again = services.engine.handle(CUSTOMER, reply)
    assert [m.text for m in first.messages] == ["Hi, Sam here"] and again.duplicate and not again.messages

"""The queue over more conversations and cases than it shows: its filters and its order apply before the cut."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bot.app import Services
from bot.channels.console.views import QUEUE_LIMIT, Filters, queue
from bot.clock import ManualClock
from bot.store.rows import CASES, CONVERSATIONS, TIMERS
from tests.conftest import ServicesFactory

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _conversations(services: Services, account_types: list[str | None], start: datetime) -> list[int]:
    rows: list[dict[str, Any]] = []
    for n, account_type in enumerate(account_types):
        at = start + timedelta(seconds=n)
        rows.append({"channel": "webchat", "org": f"org{n}", "user_id": f"u{start:%H%M}-{n}", "status": "open",
                     "state": "connect.route", "slots": {"account_type": account_type} if account_type else {},
                     "version": 0, "created_at": at, "updated_at": at})
    with services.db.begin() as conn:
        return list(conn.execute(insert(CONVERSATIONS).returning(CONVERSATIONS.c.id), rows).scalars())


def test_an_account_type_filter_finds_the_older_matches_behind_more_than_a_page_of_newer_ones(
        make_services: ServicesFactory) -> None:
    services = make_services(clock=ManualClock(NOW))
    sellers = _conversations(services, ["seller"] * 3, NOW - timedelta(days=2))
    _conversations(services, ["vendor"] * (QUEUE_LIMIT + 5), NOW - timedelta(days=1))
    _, live = queue(services.db, Filters(account_type="seller"), "sam", NOW)
    assert [r.conversation_id for r in live] == sellers[::-1]
    assert {r.account_type for r in live} == {"seller"}
    _, vendors = queue(services.db, Filters(account_type="vendor"), "sam", NOW)
    assert len(vendors) == QUEUE_LIMIT and {r.account_type for r in vendors} == {"vendor"}


def test_an_overdue_case_is_shown_first_however_many_cases_are_open(make_services: ServicesFactory) -> None:
    services = make_services(clock=ManualClock(NOW))
    waiting = _conversations(services, ["vendor"] * (QUEUE_LIMIT + 5), NOW - timedelta(days=1))
    late = _conversations(services, ["seller"], NOW - timedelta(hours=3))[0]
    with services.db.begin() as conn:
        conn.execute(insert(CASES), [{"conversation_id": cid, "status": "open", "reason": "customer_request",
                                      "packet": {}, "opened_at": NOW - timedelta(hours=1)} for cid in waiting])
        conn.execute(insert(CASES).values(conversation_id=late, status="open", reason="sync_failed", packet={},
                                          opened_at=NOW - timedelta(hours=3)))
        conn.execute(insert(TIMERS).values(conversation_id=late, kind="case_reminder", due_at=NOW - timedelta(hours=2),
                                           status="pending", created_at=NOW - timedelta(hours=3)))
    cases, _ = queue(services.db, Filters(), "sam", NOW)
    assert len(cases) == QUEUE_LIMIT
    assert (cases[0].conversation_id, cases[0].urgency) == (late, "overdue")

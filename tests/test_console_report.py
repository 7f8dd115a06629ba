"""The drop-off report: the funnel of seeded journeys, on the page and in the CSV, on both databases."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from bot.app import Services
from bot.store.rows import ATTEMPTS, CONNECTIONS, CONVERSATIONS
from tests.conftest import ServicesFactory
from tests.fakes.app_server import serving
from tests.fakes.staff_browser import PUBLIC
from tests.test_console import browser

MONDAY = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
# (channel, account type, prerequisites_ok, link sent, signed in, connection sync status or None, week offset)
JOURNEYS: list[tuple[str, str | None, bool, bool, bool, str | None, int]] = [
    ("webchat", "vendor", True, False, False, None, 0),
    ("webchat", "seller", False, True, False, None, 0),
    ("slack", "vendor", True, True, True, "pending", 0),
    ("webchat", "vendor", True, True, True, "completed", 1),
    ("webchat", None, False, False, False, None, 1),
]


def _seed(services: Services) -> None:
    with services.db.begin() as conn:
        for n, (channel, account_type, prereq, link, signed, sync, week) in enumerate(JOURNEYS):
            at = MONDAY + timedelta(weeks=week, hours=n)
            slots: dict[str, Any] = {"prerequisites_ok": prereq if prereq else None}
            if account_type:
                slots["account_type"] = account_type
            cid = conn.execute(insert(CONVERSATIONS).values(
                channel=channel, org=f"org{n}", user_id=f"u{n}", status="open", state="connect.route", slots=slots,
                version=0, created_at=at, updated_at=at).returning(CONVERSATIONS.c.id)).scalar_one()
            if link:
                conn.execute(insert(ATTEMPTS).values(
                    conversation_id=cid, kind="signin", region="NA", marketplaces=["US"], account_type="",
                    state_token=f"tok{n}", code_verifier="", created_at=at, expires_at=at + timedelta(minutes=30),
                    used_at=at + timedelta(minutes=2) if signed else None, outcome="", result={}))
            if sync:
                conn.execute(insert(CONNECTIONS).values(
                    conversation_id=cid, org=f"org{n}", kind="ads", account_type="", region="NA", profiles=[],
                    marketplaces=["US"], verdict="ok", refresh_token="x", created_at=at, sync_status=sync,
                    sync_progress=100 if sync == "completed" else 0))


def _expected(services: Services) -> list[int]:
    """The funnel, counted the long way in plain SQL: one count per stage."""
    queries = [
        "SELECT count(*) FROM conversations",
        "SELECT count(DISTINCT c.id) FROM conversations c LEFT JOIN connection_attempts a ON a.conversation_id = c.id"
        " WHERE a.kind = 'signin' OR c.org IN ('org0', 'org2', 'org3')",  # the three whose journey says so
        "SELECT count(DISTINCT conversation_id) FROM connection_attempts WHERE kind = 'signin'",
        "SELECT count(DISTINCT conversation_id) FROM connection_attempts WHERE used_at IS NOT NULL",
        "SELECT count(DISTINCT conversation_id) FROM connections",
        "SELECT count(DISTINCT conversation_id) FROM connections WHERE sync_status = 'completed'",
    ]
    with services.db.connect() as conn:
        return [int(conn.execute(text(q)).scalar_one()) for q in queries]


def test_the_report_shows_the_funnel_of_seeded_journeys(make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC)
    _seed(services)
    expected = _expected(services)
    assert expected == [5, 4, 3, 2, 2, 1]
    with serving(services) as origin, browser(origin) as alice:
        alice.sign_in("alice")
        page = alice.http.get("/console/report")
        assert page.status_code == 200 and "<svg" in page.text
        assert "First sync completed" in page.text and ">1 (20%)<" in page.text
        whole = list(csv.reader(io.StringIO(alice.http.get("/console/report.csv").text)))
        assert whole[0] == ["all", "started", "prerequisites", "link_sent", "signed_in", "verified", "first_sync"]
        assert [int(x) for x in whole[1][1:]] == expected
        by_channel = {r[0]: [int(x) for x in r[1:]] for r in
                      list(csv.reader(io.StringIO(alice.http.get("/console/report.csv?by=channel").text)))[1:]}
        assert by_channel == {"slack": [1, 1, 1, 1, 1, 0], "webchat": [4, 3, 2, 1, 1, 1]}
        by_type = {r[0]: r[1] for r in
                   list(csv.reader(io.StringIO(alice.http.get("/console/report.csv?by=account_type").text)))[1:]}
        assert by_type == {"seller": "1", "unknown": "1", "vendor": "3"}
        by_region = {r[0]: r[1] for r in
                     list(csv.reader(io.StringIO(alice.http.get("/console/report.csv?by=region").text)))[1:]}
        assert by_region == {"NA": "3", "none yet": "2"}
        by_week = {r[0]: r[1] for r in
                   list(csv.reader(io.StringIO(alice.http.get("/console/report.csv?by=week").text)))[1:]}
        assert by_week == {"2026-01-05": "3", "2026-01-12": "2"}
        with browser(origin) as nobody:
            assert nobody.http.get("/console/report.csv").status_code == 303

"""The drop-off report: the funnel, drop-off, times, handoffs, claims and ratings of seeded journeys, on the page
and in the CSVs, on both databases, each checked against the same figure counted another way."""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, insert, select, text

from bot.app import Services
from bot.channels.console.report import FIGURES, GROUPS, RATINGS, STAGES
from bot.channels.jsonl import ScriptRun
from bot.clock import as_utc
from bot.store.rows import ATTEMPTS, CASES, CONNECTIONS, CONVERSATIONS
from tests.conftest import ServicesFactory
from tests.fakes.app_server import serving
from tests.fakes.staff_browser import PUBLIC
from tests.fakes.staff_browser import staff_browser as browser

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
        "SELECT count(DISTINCT conversation_id) FROM connections",
        "SELECT count(DISTINCT conversation_id) FROM connections WHERE verdict = 'ok'",
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


# Real journeys through the engine's own paths (the scripted channel: the engine, the Amazon stand-in over
# HTTP, the sync reports' path, strategists' actions), on the scripted clock: two weeks, three channels.
SCRIPT: list[dict[str, Any]] = [
    # week of 2026-01-05: a vendor all the way to a completed first sync
    {"user": {"id": "a1", "org": "acme", "channel": "webchat"}},
    {"say": "hey, vendor on amazon.co.uk, how do i connect"},
    {"advance": "3m"},
    {"click": "Yes"},
    {"advance": "10m"},
    {"amazon": {"outcome": "allow", "profiles": [{"country": "UK", "type": "vendor"}]}},
    {"click": "Skip for now"},
    {"advance": "2h"},
    {"sync": {"status": "in_progress", "progress": 40}},
    {"advance": "5h"},
    {"sync": {"status": "completed"}},
    # a seller on Slack who cancels at Amazon
    {"user": {"id": "b1", "org": "bolt", "channel": "slack"}},
    {"say": "we're a seller on amazon.de and want to connect"},
    {"advance": "1m"},
    {"click": "Yes"},
    {"advance": "20m"},
    {"amazon": {"outcome": "cancel"}},
    # a vendor who has never advertised: stops at the prerequisites
    {"user": {"id": "c1", "org": "crisp", "channel": "webchat"}},
    {"say": "connect my vendor account please"},
    {"click": "No"},
    {"click": "No campaigns yet"},
    # a link sent, then a person asked for: claimed two hours later, resolved, rated Good
    {"user": {"id": "d1", "org": "dune", "channel": "webchat"}},
    {"say": "vendor on amazon.com, want to connect"},
    {"advance": "2m"},
    {"click": "Yes"},
    {"advance": "5m"},
    {"say": "can I talk to a real person pls"},
    {"advance": "2h"},
    {"strategist": {"action": "claim", "by": "Dana"}},
    {"advance": "30m"},
    {"strategist": {"action": "resolve", "by": "Dana"}},
    {"click": "Good"},
    # the week of 2026-01-12
    {"advance": "7d"},
    {"user": {"id": "e1", "org": "echo", "channel": "slack"}},
    {"say": "vendor, want to connect"},
    {"agent": {"action": "handoff", "note": "VIP account, please take over"}},
    {"advance": "20m"},
    {"strategist": {"action": "claim", "by": "Sam"}},
    {"strategist": {"action": "resolve", "by": "Sam"}},
    {"click": "Bad"},
    {"user": {"id": "f1", "org": "fjord", "channel": "webchat"}},
    {"say": "hi, we're a seller and want to connect"},
    {"say": "can I talk to a person"},
    {"user": {"id": "g1", "org": "gala", "channel": "terminal"}},
    {"say": "Hello! I'm a 3P seller and I'd like to hook up my amazon account"},
    {"say": "yes both are true"},
    {"say": "just amazon.com"},
    {"advance": "4m"},
    {"amazon": {"outcome": "allow", "profiles": [{"country": "US", "type": "seller"}]}},
    {"amazon": {"outcome": "allow"}},
    {"advance": "1d"},
    {"sync": {"status": "completed"}},
]


# ---- the same figures computed the long way, in Python from the raw rows -----------------------------------

def _at(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return as_utc(moment)


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def _rows(services: Services, table: Table) -> list[Any]:
    with services.db.connect() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)).all())


def _journeys(services: Services, by: str) -> tuple[dict[int, str], dict[int, list[datetime | None]]]:
    """Each conversation's group and when it reached each stage (None: it did not), as facts.py defines them."""
    links: dict[int, list[Any]] = {}
    for a in _rows(services, ATTEMPTS):
        if a.kind == "signin":
            links.setdefault(a.conversation_id, []).append(a)
    grants: dict[int, list[Any]] = {}
    for k in _rows(services, CONNECTIONS):
        grants.setdefault(k.conversation_id, []).append(k)
    groups, stages = {}, {}
    for c in _rows(services, CONVERSATIONS):
        slots, mine, got = dict(c.slots), links.get(c.id, []), grants.get(c.id, [])
        first_link = _at(mine[0].created_at) if mine else None
        prerequisites = None
        if slots.get("prerequisites_ok") is True or mine:
            prerequisites = _at(slots["prerequisites_at"]) if slots.get("prerequisites_at") else first_link
        verified = [_at(k.created_at) for k in got if k.verdict == "ok"]
        synced = [_at(k.sync_updated_at) for k in got if k.sync_status == "completed"]
        signed = min((_at(k.created_at) for k in got), default=None)
        stages[c.id] = [_at(c.created_at), prerequisites, first_link, signed, min(verified, default=None),
                        min(synced, default=None)]
        created = _at(c.created_at)
        groups[c.id] = {"all": "all", "channel": c.channel, "account_type": slots.get("account_type") or "unknown",
                        "region": mine[0].region if mine else "none yet",
                        "week": (created - timedelta(days=created.weekday())).date().isoformat()}[by]
    return groups, stages


def _expected_csvs(services: Services, by: str) -> dict[str, list[list[str]]]:
    groups, stages = _journeys(services, by)
    names = sorted(set(groups.values()))
    cases = _rows(services, CASES)

    def seconds(value: float | None) -> str:
        return "" if value is None else f"{value:.1f}"

    def share(part: int, whole: int) -> str:
        return f"{part / whole if whole else 0.0:.4f}"

    funnel, steps, handoffs, reasons, claims, satisfaction = [], [], [], [], [], []
    for name in names:
        mine = [cid for cid, g in groups.items() if g == name]
        counts = [sum(1 for cid in mine if stages[cid][i] is not None) for i in range(len(STAGES))]
        funnel.append([name, *map(str, counts)])
        for i, stage in enumerate(STAGES):
            reached = [stages[cid] for cid in mine if stages[cid][i] is not None]
            before = i - 1 if i > 1 else 0
            from_start, from_previous = [], []
            for s in reached:
                at, started, previous = s[i], s[0], s[before]
                if i and at is not None and started is not None:
                    from_start.append((at - started).total_seconds())
                    if previous is not None:
                        from_previous.append((at - previous).total_seconds())
            lost = counts[i - 1] - counts[i] if i else 0
            steps.append([name, stage, str(counts[i]), share(counts[i], counts[0]), str(lost),
                          share(lost, counts[i - 1] if i else 0), seconds(_quantile(from_start, 0.5)),
                          seconds(_quantile(from_previous, 0.5))])
        theirs = [k for k in cases if groups[k.conversation_id] == name]
        handed = len({k.conversation_id for k in theirs})
        handoffs.append([name, str(len(mine)), str(handed), share(handed, len(mine)), str(len(theirs))])
        for reason, count in sorted(Counter(k.reason for k in theirs).items(), key=lambda item: (-item[1], item[0])):
            reasons.append([name, reason, str(count), share(count, len(theirs))])
        waits = [(_at(k.claimed_at) - _at(k.opened_at)).total_seconds() for k in theirs if k.claimed_at]
        claims.append([name, str(len(theirs)), str(len(waits)),
                       str(sum(1 for k in theirs if k.status == "open" and not k.claimed_at)),
                       seconds(_quantile(waits, 0.5)), seconds(_quantile(waits, 0.9))])
        rated = Counter(k.rating for k in theirs if k.rating)
        answered = sum(rated.values())
        satisfaction.append([name, str(sum(1 for k in theirs if k.status == "resolved")), str(answered),
                             *(str(rated[r]) for r in RATINGS), *(share(rated[r], answered) for r in RATINGS)])
    return {"funnel": funnel, "steps": steps, "handoffs": handoffs, "reasons": reasons, "claims": claims,
            "satisfaction": satisfaction}


def test_the_report_of_real_journeys_matches_the_figures_counted_from_the_rows(make_services: ServicesFactory) -> None:
    services = make_services(base_url=PUBLIC)
    assert ScriptRun(services, io.StringIO()).feed(json.dumps(line) for line in SCRIPT) == 0
    with serving(services) as origin, browser(origin) as alice:
        alice.sign_in("alice")

        def download(by: str, figure: str) -> list[list[str]]:
            got = alice.http.get("/console/report.csv", params={"by": by, "figure": figure})
            assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
            return list(csv.reader(io.StringIO(got.text)))

        for by in GROUPS:
            expected = _expected_csvs(services, by)
            for figure in FIGURES:
                shown = download(by, figure)
                assert shown[0][0] == by
                assert shown[1:] == expected[figure], (by, figure)

        # what the journeys above did, read off by hand
        assert download("all", "funnel")[1] == ["all", "7", "4", "4", "2", "2", "2"]
        steps = {row[1]: row for row in download("channel", "steps") if row[0] == "webchat"}
        assert steps["prerequisites"][6] == "150.0", "a1 clicked Yes after 3 minutes, d1 after 2"
        assert steps["signed_in"][4:6] == ["1", "0.5000"], "of a1 and d1, d1 never opened its link"
        assert download("all", "handoffs")[1] == ["all", "7", "3", "0.4286", "3"]
        claims = download("all", "claims")[1]
        assert claims == ["all", "3", "2", "1", "4200.0", "6600.0"], "claimed after 2 h and after 20 min"
        assert download("all", "satisfaction")[1][1:6] == ["2", "2", "1", "0", "1"]
        assert [r[0] for r in download("week", "funnel")[1:]] == ["2026-01-05", "2026-01-12"]

        page = alice.http.get("/console/report", params={"by": "all"})
        assert page.status_code == 200
        for words in ("Median time from the start", "Handed to a person", "The customer asked for a person",
                      "Time to claim", "70 min", "1.8 h", "Satisfaction", "Good", ">1 (50%)<", ">2 (29%)<", "43%"):
            assert words in page.text, words

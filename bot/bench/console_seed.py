"""Many conversations at once for `bench console`: the rows the engine writes, in a journey's proportions, by COPY.

Each conversation is drawn from a seeded random funnel (most start, fewer pass the prerequisites, get a link,
sign in, are verified and see their first sync complete), over 26 weeks, on three channels, and gets the rows
a journey that far leaves behind: the journey JSON in `slots` (Journey.model_dump, as a turn saves it), sign-in
and SP-API attempts, connections, transcript rows both ways, timers (fired, cancelled and pending) and, for
some, a handoff case with its packet, claimed, resolved and rated as cases are. Outbox rows and idempotency
keys are left out: no console page reads them.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine as Db

from flows.journey import ConnectionFound, Journey

START = datetime(2026, 6, 1, tzinfo=UTC)  # a Monday; conversations spread over the 26 weeks after it
WEEKS = 26
# The share of those who reached the stage before that reach this one.
ONWARD = {"prerequisites": 0.78, "link_sent": 0.9, "signed_in": 0.8, "verified": 0.88, "first_sync": 0.85}
CHANNELS = (("webchat", 0.6), ("slack", 0.35), ("terminal", 0.05))
TYPES = (("vendor", 0.45), ("seller", 0.4), ("both", 0.05), (None, 0.1))
REGIONS = (("NA", ["US"], 0.55), ("EU", ["DE", "UK"], 0.35), ("FE", ["JP"], 0.1))
REASONS = (("customer_request", 0.35), ("amazon_error", 0.15), ("sync_overdue", 0.12), ("agent_handoff", 0.1),
           ("repeated_failures", 0.08), ("sync_failed", 0.06), ("permissions_refresh_failed", 0.05),
           ("not_understood", 0.05), ("signup_email", 0.04))
CASE_STATUSES = (("resolved", 0.7), ("open", 0.12), ("claimed", 0.08), ("returned", 0.1))
RATINGS = (("good", 0.6), ("ok", 0.25), ("bad", 0.15))
SAYINGS = ("hi, we're a vendor and want to connect our amazon account", "yes both are true",
           "amazon.de and amazon.co.uk", "ok I signed in, what now?", "how long does the first sync take?",
           "can I talk to a person please")
REPLIES = ("Two quick checks before the sign-in, because Amazon only lists accounts that meet them.",
           "Here is your sign-in link for Europe. It opens Amazon's own page, so we never see your password.",
           "Connected: Amazon lists your vendor account in Germany. Your data starts syncing now.",
           "Your first sync is under way (40%).", "The first sync usually takes a few hours, at most 48.")
STATES = {0: "connect.prereq", 1: "region.ask", 2: "signin.send", 3: "signin.send", 4: "sp_api.offer",
          5: "sync.done"}


def _pick(rng: random.Random, weighted: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    x, total = rng.random(), 0.0
    for row in weighted:
        total += row[-1]
        if x < total:
            return row
    return weighted[-1]


@dataclass
class Tables:
    """The rows to COPY, per table, in each table's column order."""

    conversations: list[tuple[Any, ...]] = field(default_factory=list)
    attempts: list[tuple[Any, ...]] = field(default_factory=list)
    connections: list[tuple[Any, ...]] = field(default_factory=list)
    transcript: list[tuple[Any, ...]] = field(default_factory=list)
    timers: list[tuple[Any, ...]] = field(default_factory=list)
    cases: list[tuple[Any, ...]] = field(default_factory=list)


COLUMNS = {
    "conversations": "id, channel, org, user_id, status, state, slots, version, created_at, updated_at",
    "connection_attempts": "conversation_id, kind, region, marketplaces, account_type, state_token, code_verifier, "
                           "created_at, expires_at, used_at, outcome, result",
    "connections": "conversation_id, org, kind, account_type, region, profiles, marketplaces, verdict, "
                   "refresh_token, created_at, sync_status, sync_progress, sync_updated_at",
    "transcript": "conversation_id, at, direction, kind, topic, text, data",
    "timers": "conversation_id, kind, guard_state, due_at, status, created_at, fired_at, attempts, last_error",
    "cases": "conversation_id, status, reason, packet, opened_at, claimed_by, claimed_at, closed_at, routed_to, "
             "rating, rated_at",
}


def _journey(rng: random.Random, tables: Tables, cid: int, with_case: bool) -> None:
    channel = _pick(rng, CHANNELS)[0]
    account_type = _pick(rng, TYPES)[0]
    region, marketplaces, _ = _pick(rng, REGIONS)
    org, user = f"org{rng.randrange(5000)}", f"user{cid}"
    created = START + timedelta(seconds=rng.randrange(WEEKS * 7 * 86400))
    reached = 0
    for onward in ONWARD.values():
        if rng.random() >= onward:
            break
        reached += 1
    at = created
    j = Journey(account_type=account_type, marketplaces=marketplaces, started_at=created)
    steps: list[datetime] = []
    for _ in range(reached):  # minutes to hours between stages; the first sync takes hours
        at += timedelta(seconds=rng.expovariate(1 / (600 if len(steps) < 4 else 6 * 3600)))
        steps.append(at)
    if reached >= 1:
        j.prerequisites_ok, j.prerequisites_at = True, steps[0]
    elif rng.random() < 0.4:
        j.prerequisites_ok, j.missing = False, "advertising"
    kind_of = "vendor" if account_type in (None, "vendor") else "seller"
    if reached >= 2:
        for n in range(1 + (rng.random() < 0.3)):  # some customers need a second link
            sent = steps[1] + timedelta(minutes=5 * n)
            used = steps[2] if reached >= 3 and n == 0 else None
            tables.attempts.append((cid, "signin", region, json.dumps(marketplaces), kind_of, f"t{cid}-{n}", "v" * 43,
                                    sent, sent + timedelta(minutes=30), used, "ok" if used else "", "{}"))
    if reached >= 3:
        verdict = "ok" if reached >= 4 else rng.choice(("no_profiles", "viewer_only", "wrong_type"))
        synced = reached >= 5
        profiles = [{"country": m, "type": kind_of, "access": "edit", "profile_id": str(cid * 10 + i)}
                    for i, m in enumerate(marketplaces)]
        tables.connections.append((cid, org, "ads", kind_of, region, json.dumps(profiles), json.dumps(marketplaces),
                                   verdict, "gAAAA" + "x" * 180, steps[2], "completed" if synced else "pending",
                                   100 if synced else 0, steps[4] if synced else None))
        j.connections = [ConnectionFound(region=region, marketplaces=marketplaces, account_types=[kind_of], at=steps[2],
                                         connection_id=cid)]
        j.connected_at = steps[2]
        j.sync_status = "completed" if synced else None
    last = steps[-1] if steps else created
    for n in range(2 + 2 * reached + rng.randrange(4)):  # both sides, about ten rows for a whole journey
        moment = created + (last - created) * n / 12
        if n % 2 == 0:
            tables.transcript.append((cid, moment, "in", "say", "", rng.choice(SAYINGS), "{}"))
        else:
            tables.transcript.append((cid, moment, "out", "customer", "connect.start", rng.choice(REPLIES),
                                      json.dumps({"choices": ["Yes", "No", "Not sure"]})))
    tables.timers.append((cid, "link_nudge", "signin.send", created + timedelta(minutes=30),
                          rng.choice(("fired", "cancelled")), created, None, 0, ""))
    status = "open" if rng.random() < 0.4 else "closed"
    state = STATES[reached]
    if status == "open" and reached < 5 and rng.random() < 0.3:
        tables.timers.append((cid, "sync_check" if reached >= 3 else "campaign_reminder", state,
                              last + timedelta(hours=24), "pending", last, None, 0, ""))
    if with_case:
        state = _case(rng, tables, cid, org, user, channel, j, last)
        status = "open"
    tables.conversations.append((cid, channel, org, user, status, state, j.model_dump_json(), 5 + reached * 2,
                                 created, last))


def _case(rng: random.Random, tables: Tables, cid: int, org: str, user: str, channel: str, j: Journey,
          opened: datetime) -> str:
    status, reason = _pick(rng, CASE_STATUSES)[0], _pick(rng, REASONS)[0]
    claimed = opened + timedelta(seconds=rng.expovariate(1 / 1800)) if status != "open" else None
    closed = claimed + timedelta(hours=rng.uniform(0.2, 6)) if claimed and status in ("resolved", "returned") else None
    rating = _pick(rng, RATINGS)[0] if status == "resolved" and rng.random() < 0.55 else None
    packet = {"customer": user, "org": org, "channel": channel, "conversation": f"c-{cid}", "reason": reason,
              "note": "", "account_type": j.account_type, "marketplaces": j.marketplaces, "step": "signin.send",
              "errors": [], "tried": ["sent a fresh link"], "opened_at": opened.isoformat(),
              "transcript": [{"at": opened.isoformat(), "who": "customer", "kind": "say", "text": s}
                             for s in SAYINGS]}
    tables.cases.append((cid, status, reason, json.dumps(packet), opened, "Dana" if claimed else None, claimed, closed,
                         "data-strategists", rating, closed if rating else None))
    if status == "open":
        tables.timers.append((cid, "case_reminder", "", opened + timedelta(minutes=30), "pending", opened, None, 0,
                              ""))
    return {"open": "handoff.waiting", "claimed": "handoff.relaying"}.get(status, "sync.syncing")


def seed(db: Db, conversations: int, cases: int, seed_value: int = 12) -> dict[str, int]:
    """Writes the rows with COPY (PostgreSQL); returns how many of each table it wrote."""
    rng = random.Random(seed_value)
    tables = Tables()
    handed_off = set(rng.sample(range(1, conversations + 1), min(cases, conversations)))
    for cid in range(1, conversations + 1):
        _journey(rng, tables, cid, cid in handed_off)
    written = {"conversations": tables.conversations, "connection_attempts": tables.attempts,
               "connections": tables.connections, "transcript": tables.transcript, "timers": tables.timers,
               "cases": tables.cases}
    raw = db.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        with driver.cursor() as cursor:
            for name, rows in written.items():
                with cursor.copy(f"COPY {name} ({COLUMNS[name]}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            cursor.execute("SELECT setval(pg_get_serial_sequence('conversations', 'id'), max(id)) FROM conversations")
            cursor.execute("ANALYZE")  # as autovacuum would soon after a load this size
        driver.commit()
    finally:
        raw.close()
    return {name: len(rows) for name, rows in written.items()}

"""What the bot has gathered about a conversation's connection, as staff read it beside the transcript.

Read from the journey the engine keeps with the conversation, so an agent sees the facts before any
case exists (a case's packet is a copy taken when it opened; this is always the current state).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from bot.amazon.marketplaces import REGION_NAMES, Region, marketplace
from flows.journey import Journey


@dataclass(frozen=True)
class ErrorFact:
    code: str
    step: str
    at: str
    detail: str


@dataclass(frozen=True)
class JourneyFacts:
    account_type: str | None = None
    agency: bool | None = None
    new_customer: bool | None = None
    advertised: bool | None = None
    admin: bool | None = None
    prerequisites_ok: bool | None = None
    marketplaces: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # the regions' names, in the order the customer's marketplaces name them
    connected_regions: tuple[str, ...] = ()
    sp_api: str | None = None
    sync_status: str | None = None
    sync_progress: int = 0
    errors: tuple[ErrorFact, ...] = ()
    tried: tuple[str, ...] = ()
    failures: int = 0
    started_at: str = ""
    connected_at: str = ""
    readable: bool = field(default=True)  # False when the stored journey could not be read


def _region_name(code: str) -> str:
    try:
        return REGION_NAMES[Region(code)]
    except ValueError:
        return code


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def journey_facts(slots: object) -> JourneyFacts:
    """The facts of a stored journey; a journey that no longer reads (an old or damaged row) shows as such."""
    try:
        j = Journey.model_validate(slots if isinstance(slots, dict) else {})
    except ValidationError:
        return JourneyFacts(readable=False)
    regions: list[str] = []
    for code in [*(c.region for c in j.connections), *j.pending_regions]:
        regions.append(code)
    for m in j.marketplaces:
        try:
            regions.append(str(marketplace(m).region))
        except KeyError:
            continue
    connected = list(dict.fromkeys(c.region for c in j.connections))
    return JourneyFacts(
        account_type=j.account_type, agency=j.agency, new_customer=j.new_customer, advertised=j.advertised,
        admin=j.admin, prerequisites_ok=j.prerequisites_ok, marketplaces=tuple(j.marketplaces),
        regions=tuple(_region_name(r) for r in dict.fromkeys(regions)),
        connected_regions=tuple(_region_name(r) for r in connected), sp_api=j.sp_api,
        sync_status=j.sync_status, sync_progress=j.sync_progress,
        errors=tuple(ErrorFact(e.code, e.step, _when(e.at), e.detail) for e in j.errors),
        tried=tuple(j.tried), failures=j.failures, started_at=_when(j.started_at),
        connected_at=_when(j.connected_at))

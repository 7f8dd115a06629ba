"""What the bot knows about this customer's connection: remembered so it never asks twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class ErrorSeen(BaseModel):
    code: str
    step: str
    at: datetime
    detail: str = ""


class ConnectionFound(BaseModel):
    region: str
    marketplaces: list[str]
    account_types: list[str]
    at: datetime
    connection_id: int | None = None  # the connection record the callback stored for this grant


class Journey(BaseModel):
    account_type: str | None = None  # vendor | seller | both
    agency: bool | None = None
    new_customer: bool | None = None
    prerequisites_ok: bool | None = None
    prerequisites_at: datetime | None = None  # when they first passed: the drop-off report's time to this step
    advertised: bool | None = None  # what the customer said of the first prerequisite (a campaign has run)
    admin: bool | None = None  # ... and of the second (their login has View and Edit)
    missing: str | None = None  # advertising | permissions | both: the prerequisite that is not met
    marketplaces: list[str] = Field(default_factory=list)
    pending_regions: list[str] = Field(default_factory=list)  # regions still to sign in, first is next
    connections: list[ConnectionFound] = Field(default_factory=list)
    connected_at: datetime | None = None
    sp_api: str | None = None  # done | skipped
    sp_api_regions: list[str] = Field(default_factory=list)  # regions whose SP-API consent is given
    sync_status: str | None = None  # in_progress | completed | failed
    sync_progress: int = 0
    sync_reported: int = -1  # the last progress milestone told to the customer
    sync_updated_at: datetime | None = None
    errors: list[ErrorSeen] = Field(default_factory=list)
    tried: list[str] = Field(default_factory=list)  # what the bot already tried, for the strategist
    failures: int = 0  # failed sign-in attempts in a row
    refresh_done: bool = False  # the owner already removed and re-added the users
    reminder_set: bool = False
    misses: int = 0  # answers in a row the bot could not read at the current step
    which_of: list[str] = Field(default_factory=list)  # topics the bot just asked the customer to pick between
    which_of_text: str = ""  # ... and the message that was too close to call, answered once they pick
    reasked: str | None = None  # the step just asked again in one line: not again without new information
    last_topic: str | None = None  # what the bot's last answer was about: what a vague follow-up question asks
    resume_state: str | None = None  # where the bot picks up when a strategist hands back
    case_id: int | None = None
    case_status: str | None = None
    case_route: str | None = None  # who the open case is routed to (set by the engine from the routing rules)
    case_backup: str | None = None  # who it escalates to when nobody claims it
    rating_case_id: int | None = None  # a resolved case whose satisfaction question is still open
    last_grant_id: int | None = None  # the newest stored Ads grant: what a re-check reads Amazon with
    last_amazon: dict[str, Any] = Field(default_factory=dict)  # Amazon's latest verdict, for the steps explaining it
    started_at: datetime | None = None

    def stamp_milestones(self, now: datetime) -> None:
        """Record when the prerequisites first passed, whichever handler or option passed them."""
        if self.prerequisites_ok and self.prerequisites_at is None:
            self.prerequisites_at = now

    def note_tried(self, what: str) -> None:
        if what not in self.tried:
            self.tried.append(what)

    def note_error(self, code: str, step: str, at: datetime, detail: str = "") -> None:
        self.errors.append(ErrorSeen(code=code, step=step, at=at, detail=detail))

    @property
    def connected_regions(self) -> list[str]:
        return [c.region for c in self.connections]

    @property
    def sp_api_missing(self) -> list[ConnectionFound]:
        """Connections whose region still needs SP-API consent: Amazon authorizes SP-API per region."""
        seen: set[str] = set(self.sp_api_regions)
        missing = []
        for connection in self.connections:
            if connection.region not in seen:
                seen.add(connection.region)
                missing.append(connection)
        return missing

"""Who an unclaimed case goes to, and when it reminds and escalates: configuration turned into decisions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.cases.hours import BusinessHours
from bot.clock import parse_duration

_KINDS = ("org", "region")


def parse_routes(raw: Mapping[str, str] | str) -> dict[str, str]:
    """STRATEGIST_ROUTES: {"region:EU": "eu-strategists", "org:acme": "alice"}; refused when malformed."""
    routes = json.loads(raw) if isinstance(raw, str) else dict(raw)
    if not isinstance(routes, dict):
        raise ValueError("strategist routes must be a JSON object such as {\"region:EU\": \"eu-strategists\"}")
    for key, target in routes.items():
        kind, _, value = str(key).partition(":")
        if kind not in _KINDS or not value or not isinstance(target, str) or not target:
            raise ValueError(f"strategist route {key!r}: keys are 'org:<org>' or 'region:<NA|EU|FE>', "
                             "values the strategist or group to ping")
    return {str(k): str(v) for k, v in routes.items()}


@dataclass(frozen=True)
class CasePolicy:
    hours: BusinessHours
    sla: timedelta = timedelta(minutes=30)
    routes: Mapping[str, str] = field(default_factory=dict)
    default_route: str = "data-strategists"
    backup: str = ""

    @classmethod
    def from_settings(cls, business_hours: str, timezone: str, sla: str, routes: Mapping[str, str] | str,
                      default_route: str, backup: str) -> CasePolicy:
        return cls(BusinessHours.parse(business_hours, timezone), parse_duration(sla), parse_routes(routes),
                   default_route, backup)

    def route(self, org: str, regions: Iterable[str]) -> str:
        """An organization's own strategist first, then the team of the customer's first region, then the default."""
        by_org = self.routes.get(f"org:{org}")
        if by_org:
            return by_org
        for region in regions:
            by_region = self.routes.get(f"region:{region}")
            if by_region:
                return by_region
        return self.default_route

    def reminder_due(self, opened: datetime) -> datetime:
        return self.hours.add(opened, self.sla)

    def escalation_due(self, opened: datetime) -> datetime:
        """A second SLA after the reminder, still counted in business hours."""
        return self.hours.add(self.reminder_due(opened), self.sla)

"""Business hours, and when an SLA counted only inside them falls due. Pure functions, no I/O.

"Mon-Fri 09:00-18:00" in a time zone: a case opened on Friday at 17:50 with a 30-minute SLA is due
on Monday at 09:20, because strategists are not expected to answer at night or at the weekend.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(r"^\s*(?P<days>[a-z,\- ]+?)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")
_ALWAYS = ("always", "24/7")
_MAX_DAYS_SEARCHED = 8  # a week has a working day in it, or the hours are empty (refused when parsed)


@dataclass(frozen=True)
class BusinessHours:
    days: frozenset[int]  # 0 is Monday
    opens: int  # minutes after midnight, local time
    closes: int  # minutes after midnight, 1440 for midnight at the end of the day
    zone: ZoneInfo

    @classmethod
    def parse(cls, spec: str, timezone: str = "UTC") -> BusinessHours:
        """'Mon-Fri 09:00-18:00', 'Mon,Wed 08:00-12:00' or 'always', in an IANA time zone."""
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r} (use an IANA name such as Europe/Berlin)") from None
        text = spec.strip().lower()
        if text in _ALWAYS:
            return cls(frozenset(range(7)), 0, 1440, zone)
        match = _SPEC.match(text)
        if match is None:
            raise ValueError(f"business hours {spec!r}: expected days and hours such as 'Mon-Fri 09:00-18:00'")
        opens, closes = _minutes(match["start"]), _minutes(match["end"])
        if not 0 <= opens < closes <= 1440:
            raise ValueError(f"business hours {spec!r}: the day must open before it closes")
        return cls(_days(match["days"], spec), opens, closes, zone)

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return local.weekday() in self.days and self.opens <= minute < self.closes

    def add(self, start: datetime, work: timedelta) -> datetime:
        """The moment `work` of business time has passed after `start` (the SLA's due time)."""
        moment, left = start.astimezone(self.zone), work
        for _ in range(_MAX_DAYS_SEARCHED * max(1, int(work / timedelta(days=1)) + 1)):
            day = moment.date()
            opening, closing = self._at(day, self.opens), self._at(day, self.closes)
            if day.weekday() in self.days and moment < closing:
                moment = max(moment, opening)
                if moment + left <= closing:
                    return (moment + left).astimezone(UTC)
                left -= closing - moment
            moment = self._at(day + timedelta(days=1), 0)
        raise ValueError("the SLA never falls due: no business hours found")  # unreachable after parse

    def _at(self, day: date, minutes: int) -> datetime:
        # Wall-clock arithmetic in the zone, so a DST change moves the hours with the clocks.
        moment = datetime.combine(day, time(0), tzinfo=self.zone) + timedelta(minutes=minutes)
        return moment.astimezone(UTC).astimezone(self.zone)


def _minutes(hhmm: str) -> int:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    if minutes >= 60 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"not a time of day: {hhmm!r}")
    return hours * 60 + minutes


def _days(text: str, spec: str) -> frozenset[int]:
    found: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        first, _, last = (p.strip()[:3] for p in part.partition("-"))
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"business hours {spec!r}: unknown day in {part!r} (use Mon, Tue, ... Sun)")
        a, b = DAYS.index(first), DAYS.index(last or first)
        found.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(found)

"""What the platform says about a first sync, checked before it reaches the engine. Pure, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATUSES = ("in_progress", "completed", "failed")
MAX_EVENT_ID = 100
MAX_ERROR = 500


class ReportInvalid(ValueError):
    """The report cannot be read as a sync status; the message says which field and why."""


@dataclass(frozen=True)
class SyncReport:
    status: str
    progress: int = 0
    error: str = ""

    def as_data(self) -> dict[str, Any]:
        """What the conversation's SYNC event carries."""
        return {"status": self.status, "progress": self.progress, "error": self.error}


def parse_report(obj: Any) -> SyncReport:
    """{"status": "in_progress", "progress": 40} or {"status": "failed", "error": "..."}."""
    if not isinstance(obj, dict):
        raise ReportInvalid("the report must be a JSON object")
    status = obj.get("status")
    if status not in STATUSES:
        raise ReportInvalid(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    progress = obj.get("progress", 100 if status == "completed" else 0)
    if isinstance(progress, bool) or not isinstance(progress, int) or not 0 <= progress <= 100:
        raise ReportInvalid("progress must be a whole number from 0 to 100")
    return SyncReport(status, 100 if status == "completed" else progress, str(obj.get("error") or "")[:MAX_ERROR])


def regression(stored_status: str, stored_progress: int, report: SyncReport) -> str | None:
    """Why this report would move the sync backwards (None when it may be applied).

    Completed is final; a failure is reported once; a failed sync may start again (the platform
    retried, often after a strategist's fix); progress within a run never shrinks.
    """
    if stored_status == "completed":
        return f"the first sync already completed; a later {report.status!r} report is ignored"
    if stored_status == "failed" and report.status == "failed":
        return "the first sync is already marked failed"
    if stored_status == "in_progress" and report.status == "in_progress" and report.progress < stored_progress:
        return f"progress went backwards ({stored_progress}% -> {report.progress}%)"
    return None

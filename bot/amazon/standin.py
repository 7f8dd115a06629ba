"""The in-process Amazon stand-in: turns a scripted outcome into what the callback would conclude.

Scripts and demos say what Amazon answers (`{"outcome": "allow", "profiles": [...]}`); this maps it
onto the same verdict functions the real callback uses, so the flows cannot tell the difference.
"""

from __future__ import annotations

from typing import Any

from bot.amazon.verify import judge_error, judge_profiles, profiles_from
from bot.store.rows import AttemptRow

OUTCOMES = ("allow", "cancel", "invalid_scope", "expired_code", "error")


def scripted_verdict(attempt: AttemptRow, outcome: dict[str, Any]) -> dict[str, Any]:
    """The verdict for a scripted outcome on this link; ValueError for an outcome that makes no sense."""
    kind = str(outcome.get("outcome", ""))
    region = attempt.region
    if kind == "allow":
        if attempt.kind == "spapi":
            return {"region": region, "result": "ok"}
        raw = outcome.get("profiles", [])
        if not isinstance(raw, list) or not all(isinstance(p, dict) for p in raw):
            raise ValueError('"profiles" must be a list of {"country": ..., "type": ...}')
        try:
            profiles = profiles_from(raw)
        except KeyError as exc:
            raise ValueError(f"no Amazon marketplace for country {exc.args[0]!r}") from None
        return judge_profiles(region, attempt.account_type, list(attempt.marketplaces), profiles)
    if kind == "cancel":
        return judge_error(region, "access_denied")
    if kind == "invalid_scope":
        return judge_error(region, "invalid_scope")
    if kind == "expired_code":
        return judge_error(region, "invalid_grant")
    if kind == "error":
        code = str(outcome.get("code", "")).strip()
        if not code:
            raise ValueError('an "error" outcome needs a "code", such as "MD1000" or "server_error"')
        return judge_error(region, code)
    raise ValueError(f"unknown Amazon outcome {kind!r}; use one of {', '.join(OUTCOMES)}")

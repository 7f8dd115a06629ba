"""What Amazon's answer means for this customer: the verdict the sign-in flow acts on.

Pure functions over plain data, shared by the real callback and the stand-in, so the judgement
is the same wherever the profiles came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.amazon.marketplaces import marketplace

# Amazon's error redirects and token errors, mapped to what the conversation explains.
_ERROR_RESULTS = {
    "access_denied": "cancelled",
    "cancel": "cancelled",
    "invalid_scope": "invalid_scope",
    "invalid_grant": "expired_code",
    "expired_code": "expired_code",
}


@dataclass(frozen=True)
class Profile:
    country: str
    type: str  # seller | vendor | agency
    access: str = "edit"  # edit | view
    profile_id: int | None = None

    @property
    def region(self) -> str:
        return str(marketplace(self.country).region)


def _types_wanted(account_type: str) -> set[str]:
    return {"seller", "vendor"} if account_type in ("both", "") else {account_type}


def judge_profiles(region: str, account_type: str, marketplaces: list[str],
                   profiles: list[Profile]) -> dict[str, Any]:
    """Success, or which of the known reasons explains why the expected account is not there."""
    wanted_types = _types_wanted(account_type)
    wanted_codes = [c for c in marketplaces if str(marketplace(c).region) == region]
    in_region = [p for p in profiles if p.region == region]
    editable = [p for p in in_region if p.access == "edit" and p.type in wanted_types]
    base: dict[str, Any] = {
        "region": region,
        "found": [{"country": p.country, "type": p.type, "access": p.access, "profile_id": p.profile_id}
                  for p in profiles],
        "found_types": sorted({p.type for p in profiles}),
        "found_regions": sorted({p.region for p in profiles}),
    }
    if editable:
        found = list(dict.fromkeys(p.country for p in editable))
        matched = [c for c in wanted_codes if c in found] or found
        missing = [c for c in wanted_codes if c not in found]
        return {**base, "result": "ok", "found_types": sorted({p.type for p in editable}),
                "matched": matched, "missing": missing}
    if not profiles:
        return {**base, "result": "no_profiles"}
    if any(p.type in wanted_types for p in in_region):
        return {**base, "result": "viewer_only"}
    if in_region:
        return {**base, "result": "wrong_type"}
    return {**base, "result": "other_region"}


def judge_error(region: str, code: str) -> dict[str, Any]:
    """An error Amazon returned instead of profiles (redirect error, token error, consent page code)."""
    result = _ERROR_RESULTS.get(code.lower(), "error")
    if code.strip().lower() in ("invalid access", "invalid_access"):
        result = "invalid_access"
    return {"region": region, "result": result, "code": code}


def profiles_from(items: list[dict[str, Any]]) -> list[Profile]:
    """Profiles as the scripted-chat protocol gives them: {"country": "DE", "type": "vendor"}."""
    out: list[Profile] = []
    for item in items:
        country = str(item.get("country", "")).upper()
        kind = str(item.get("type", "")).lower()
        if kind not in ("seller", "vendor", "agency"):
            raise ValueError(f"profile type must be seller, vendor or agency, not {kind!r}")
        marketplace(country)  # raises KeyError for a country Amazon has no marketplace in
        out.append(Profile(country=country, type=kind, access=str(item.get("access", "edit")).lower()))
    return out


def safe_code(code: str) -> str:
    """An error code from a redirect or an error body as we store and show it: short, plain characters."""
    return "".join(ch for ch in code if ch.isalnum() or ch in "_-. ")[:64].strip()

"""Reading an account's profiles with an access token and judging them: shared by the callback
(right after consent) and the re-check (later, with the stored grant, when a strategist returns
the conversation to verify a fix).
"""

from __future__ import annotations

from typing import Any

from bot.amazon.client import AmazonApi, RegionProfiles
from bot.amazon.verify import Profile, judge_error, judge_profiles


async def read_and_judge(api: AmazonApi, access_token: str, region: str, account_type: str,
                         marketplaces: list[str]) -> dict[str, Any]:
    """Profiles on the three hosts at once; a second round with view access only when nothing editable matches."""
    answers = await api.list_profiles(access_token, "edit")
    profiles = _all_profiles(answers)
    verdict = judge_profiles(region, account_type, marketplaces, profiles)
    if verdict["result"] == "ok":
        return verdict
    # Nothing editable where expected: does the person see it with view access only?
    viewable = await api.list_profiles(access_token, "view")
    editable = {(p.country, p.type, p.profile_id) for p in profiles}
    profiles += [p for p in _all_profiles(viewable) if (p.country, p.type, p.profile_id) not in editable]
    verdict = judge_profiles(region, account_type, marketplaces, profiles)
    problems = {r: a.problem for r, a in {**answers, **viewable}.items() if a.problem}
    if verdict["result"] == "ok":
        return verdict
    if problems and all(p == "unauthorized" for p in problems.values()) and len(problems) == len(answers):
        return judge_error(region, "ads_api_unauthorized")  # the token works nowhere: our app's access
    if region in problems:
        return judge_error(region, "profiles_unavailable")
    return verdict


def _all_profiles(answers: dict[str, RegionProfiles]) -> list[Profile]:
    return [p for answer in answers.values() for p in answer.profiles]

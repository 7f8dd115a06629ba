"""The OAuth callbacks: from Amazon's redirect to a verdict in the conversation the link came from.

1. `state` names one link: unknown, used or expired links stop here (an expired one makes the
   conversation offer a fresh link). The link is claimed before Amazon is called, so a replay or
   a double click gets "already used" however the two requests interleave.
2. Amazon's error redirects become the matching verdict; a code is exchanged at once, server-side,
   with the link's PKCE verifier.
3. The three regional profile lists are read concurrently and judged (bot/amazon/verify.py);
   when nothing editable matches, a second round asks for view access to tell Viewer-only apart.
4. Verdict, connection record (refresh token encrypted) and the conversation's turn are written
   in one transaction by `Engine.complete_link`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread

from bot.amazon.checks import read_and_judge
from bot.amazon.client import AmazonApi, TokenError
from bot.amazon.vault import TokenVault
from bot.amazon.verify import judge_error, safe_code
from bot.engine import Engine, GrantRecord
from bot.store.rows import AttemptRow

log = logging.getLogger("connectbot.callback")

MAX_PARAMETER = 2048  # Amazon's codes and states are far shorter; longer values are not Amazon's


@dataclass(frozen=True)
class CallbackPage:
    """What the browser is shown: a page template under flows/templates/pages, and its status."""

    name: str
    status: int
    conversation_id: int | None = None
    verdict: dict[str, Any] = field(default_factory=dict)  # what the page says happened


def plain_token(value: str) -> bool:
    """A link token as we mint them: short and printable (a NUL cannot even be looked up on PostgreSQL)."""
    return 0 < len(value) <= 100 and value.isprintable()


class CallbackHandler:
    def __init__(self, engine: Engine, api: AmazonApi, vault: TokenVault) -> None:
        self.engine = engine
        self.api = api
        self.vault = vault

    async def handle(self, query: Mapping[str, str]) -> CallbackPage:
        state = query.get("state", "")
        if not state:
            return CallbackPage("callback_no_state", 400)
        if not plain_token(state) or any(len(v) > MAX_PARAMETER or "\x00" in v for v in query.values()):
            return CallbackPage("callback_bad", 400)
        claim = await to_thread.run_sync(self.engine.claim_link, state)
        if claim.attempt is None:
            log.warning("callback with an unknown state")
            return CallbackPage("link_unknown", 400)
        if claim.problem == "used":
            log.warning("callback for a link already used: conversation=c-%d", claim.attempt.conversation_id)
            return CallbackPage("link_used", 409, claim.attempt.conversation_id)
        if claim.problem == "expired":
            await to_thread.run_sync(self.engine.link_expired, state)
            return CallbackPage("link_expired", 410, claim.attempt.conversation_id)
        attempt = claim.attempt
        try:
            verdict, grant = await self._verdict(attempt, query)
        except Exception:  # a bug must still leave the conversation an answer, never a half-done link
            log.exception("callback failed: conversation=c-%d", attempt.conversation_id)
            verdict, grant = judge_error(attempt.region, "server_error"), None
        log.info("callback verdict: conversation=c-%d kind=%s region=%s result=%s amazon_error=%s",
                 attempt.conversation_id, attempt.kind, attempt.region, verdict.get("result"),
                 verdict.get("code", "-"))
        await to_thread.run_sync(self.engine.complete_link, state, verdict, grant, True)
        name = "callback_ok" if verdict.get("result") == "ok" else "callback_problem"
        said = {k: verdict.get(k, "") for k in ("result", "code", "region")}
        return CallbackPage(name, 200, attempt.conversation_id, {**said, "kind": attempt.kind})

    async def _verdict(self, attempt: AttemptRow, query: Mapping[str, str]) -> tuple[dict[str, Any],
                                                                                  GrantRecord | None]:
        region = attempt.region
        if query.get("error"):
            return judge_error(region, safe_code(query["error"]) or "unknown_error"), None
        spapi = attempt.kind == "spapi"
        code = query.get("spapi_oauth_code" if spapi else "code", "")
        partner = query.get("selling_partner_id", "")
        if not code or (spapi and not partner):
            return judge_error(region, "missing_code"), None
        try:
            tokens = await (self.api.exchange_spapi_code(code) if spapi
                            else self.api.exchange_code(region, code, attempt.code_verifier))
        except TokenError as exc:
            return judge_error(region, exc.code), None
        if spapi:
            partner = safe_code(partner)[:100]
            grant = GrantRecord(self.vault.encrypt(tokens.refresh_token), partner)
            return {"region": region, "result": "ok", "selling_partner_id": partner}, grant
        grant = GrantRecord(self.vault.encrypt(tokens.refresh_token))
        verdict = await read_and_judge(self.api, tokens.access_token, attempt.region, attempt.account_type,
                                       attempt.marketplaces)
        return verdict, grant

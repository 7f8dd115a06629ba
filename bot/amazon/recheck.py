"""Re-checking a connection with the grant already stored, when a strategist returns a conversation
to verify a fix (for example after the account owner granted View and Edit).

The flow arms a "recheck" timer; the worker (and the embedded default's loop, and scripted chats)
takes due ones here, refreshes the access token, reads the three regions' profiles and hands the
verdict to the conversation like a callback would. No sign-in is asked of the customer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.amazon.checks import read_and_judge
from bot.amazon.client import AmazonApi, TokenError
from bot.amazon.vault import TokenVault, VaultError
from bot.amazon.verify import judge_error
from bot.engine import Engine, StoredGrant, TurnResult

log = logging.getLogger("connectbot.recheck")


class Rechecker:
    def __init__(self, engine: Engine, vault: TokenVault, api: AmazonApi) -> None:
        self.engine, self.vault, self.api = engine, vault, api

    def run_due(self) -> list[TurnResult]:
        results = []
        for timer_id, conversation_id in self.engine.due_rechecks():
            grant = self.engine.grant_of(conversation_id)
            verdict = asyncio.run(self._verdict(grant))
            log.info("re-check: conversation=c-%d result=%s", conversation_id, verdict.get("result"))
            results.append(self.engine.complete_recheck(timer_id, grant.connection_id if grant else None, verdict))
        return results

    async def _verdict(self, grant: StoredGrant | None) -> dict[str, Any]:
        if grant is None:
            return {"result": "grant_revoked", "region": ""}
        try:
            access = await self.api.refresh(grant.region, self.vault.decrypt(grant.refresh_token_ciphertext))
        except VaultError:
            log.error("re-check: connection %d cannot be decrypted with the configured keys", grant.connection_id)
            return {"result": "grant_revoked", "region": grant.region}
        except TokenError as exc:
            if exc.code == "invalid_grant":  # revoked at Amazon, or the owner removed the access
                return {"result": "grant_revoked", "region": grant.region}
            return judge_error(grant.region, exc.code)
        return await read_and_judge(self.api, access, grant.region, grant.account_type, grant.marketplaces)

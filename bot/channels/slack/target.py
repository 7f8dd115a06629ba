"""Delivery of outbox rows to Slack (a DeliveryTarget for bot/outbox.py): customers' replies in their DM
or thread, case cards and their threads in the triage channel; everything else goes to `fallback`.

Exactly once on our side: a row is posted once and its `ts` recorded (bot/channels/slack/store.py).
The one way to post twice is a worker dying between chat.postMessage and that record; then the
row's post record is left with an empty ts, and the next try looks for the row's marker (message
metadata `connectbot_outbox`) in the channel before posting again.

Slack's answers become outbox results: 429 / `ratelimited` -> try again after Retry-After (and
that method is held back for the other rows until then); a channel that is gone or a token that is
dead -> refused (a dead letter, one alert); anything else -> try again with the outbox's backoff.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.cases.policy import CasePolicy
from bot.channels.slack.blocks import to_blocks
from bot.channels.slack.cards import card, shown, with_mentions
from bot.channels.slack.convert import place_of
from bot.channels.slack.store import SlackStore
from bot.config import Settings
from bot.delivery import Delivered, DeliveryTarget, Envelope, Refused, Result, TryAgain
from bot.render import Templates
from bot.retry import retry_after
from bot.types import Audience, Channel

log = logging.getLogger("connectbot.slack.delivery")

MARKER = "connectbot_outbox"
# Slack errors that the same request will get again forever: the message is dead, a person is alerted.
PERMANENT = {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "token_revoked",
             "account_inactive", "not_authed", "no_permission", "missing_scope", "msg_too_long", "invalid_blocks",
             "msg_blocks_too_long", "restricted_action", "team_access_not_granted", "ekm_access_denied"}


class SlackTarget:
    def __init__(self, settings: Settings, store: SlackStore, templates: Templates, cases: CasePolicy,
                 fallback: DeliveryTarget, client: WebClient | None = None) -> None:
        self.settings, self.store, self.templates, self.cases, self.fallback = (
            settings, store, templates, cases, fallback)
        self.triage = settings.slack_triage_channel or ""
        self.client = client or WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url,
                                          timeout=int(max(settings.outbox_timeout_seconds, 1)))
        self.held: dict[str, datetime] = {}  # method -> until when Slack asked us to wait (429 Retry-After)
        self.now = datetime.now(UTC)  # of the delivery in progress (the outbox's clock)
        self.people = {cases.backup, cases.default_route, *cases.routes.values()}
        self._resolved: dict[str, str] = {}  # user id -> the id of the DM with them (for reading its history)

    def is_local(self, audience: str) -> bool:
        return False  # any audience may be on Slack; rows for in-app customers pass through to the fallback

    def close(self) -> None:
        self.fallback.close()

    def deliver(self, envelope: Envelope, now: datetime) -> Result:
        self.now = now
        if envelope.audience == Audience.CUSTOMER.value and envelope.channel == Channel.SLACK.value:
            result = self._customer(envelope, now)
        elif envelope.audience == Audience.STRATEGIST.value and self.triage:
            result = self._strategist(envelope, now)
        else:
            result = self.fallback.deliver(envelope, now)
        if isinstance(result, Delivered) and self.triage:
            self.sync_cards(envelope.conversation_id, now)
        return result

    # ---- customers ----------------------------------------------------------------------------

    def _customer(self, envelope: Envelope, now: datetime) -> Result:
        place = place_of(envelope.user)
        content = to_blocks(envelope.payload, self.templates)
        posted = self._post(envelope, place.channel, place.thread_ts, content, now)
        return posted if not isinstance(posted, tuple) else Delivered(200)

    # ---- strategists --------------------------------------------------------------------------

    def _strategist(self, envelope: Envelope, now: datetime) -> Result:
        case_ref = envelope.payload.get("case")
        if isinstance(case_ref, dict) and case_ref.get("status") == "open" and not envelope.payload.get("alert"):
            case_id = int(str(case_ref.get("id", "")).removeprefix("case-") or 0)
            case = self.store.case(case_id)
            if case is not None and self.store.card_of_case(case_id) is None:
                content = card(case, self.cases.reminder_due(case.opened_at), self.templates)
                posted = self._post(envelope, self.triage, "", content, now)
                if not isinstance(posted, tuple):
                    return posted
                if self.store.card_of_case(case_id) is None:
                    self.store.add_card(case_id, envelope.conversation_id, posted[0], posted[1], shown(case), now)
                return Delivered(200)
        thread = self.store.latest_card(envelope.conversation_id)
        content = to_blocks(envelope.payload, self.templates)
        content["text"] = with_mentions(content["text"], self.people)
        for block in content["blocks"]:
            if block.get("type") == "section":  # the backup and the routed team are notified by name
                block["text"]["text"] = with_mentions(block["text"]["text"], self.people)
        posted = self._post(envelope, thread.channel if thread else self.triage, thread.ts if thread else "",
                            content, now)
        return posted if not isinstance(posted, tuple) else Delivered(200)

    def sync_cards(self, conversation_id: int, now: datetime) -> None:
        """Update in place each card of the conversation whose case moved since the card was drawn."""
        for drawn, case in self.store.cards_of(conversation_id):
            now_shown = shown(case)
            if now_shown == drawn.shown:
                continue
            content = card(case, self.cases.reminder_due(case.opened_at), self.templates)
            answer = self._call("chat.update", channel=drawn.channel, ts=drawn.ts, **content)
            if isinstance(answer, dict):
                self.store.card_shown(case.id, now_shown, now)
                log.info("case card of case-%d updated: %s", case.id, now_shown.split("|")[0])
            else:
                log.warning("case card of case-%d not updated (%s); tried again with the next message",
                            case.id, answer.error)

    # ---- posting once -------------------------------------------------------------------------

    def _post(self, envelope: Envelope, channel: str, thread_ts: str, content: dict[str, Any],
              now: datetime) -> tuple[str, str] | Result:
        before = self.store.post_of(envelope.outbox_id)
        if before is not None and before.ts:
            return before.channel, before.ts  # posted and recorded; only marking the row delivered was lost
        if before is not None:
            found = self._find_marker(before.channel, before.thread_ts, envelope.outbox_id)
            if not isinstance(found, str | None):
                return found
            if found:
                self.store.posted(envelope.outbox_id, self._resolved.get(before.channel, before.channel), found)
                log.warning("outbox %d was posted before its worker stopped (found its marker in Slack); "
                            "not posted again", envelope.outbox_id)
                return self._resolved.get(before.channel, before.channel), found
        self.store.intend(envelope.outbox_id, envelope.conversation_id, channel, thread_ts,
                          [str(c) for c in envelope.payload.get("choices") or []], now)
        args: dict[str, Any] = {"channel": channel, **content, "unfurl_links": False, "unfurl_media": False,
                                "metadata": {"event_type": MARKER, "event_payload": {"outbox_id": envelope.outbox_id}}}
        if thread_ts:
            args["thread_ts"] = thread_ts
        answer = self._call("chat.postMessage", **args)
        if not isinstance(answer, dict):
            return answer
        posted = (str(answer.get("channel") or channel), str(answer.get("ts") or ""))
        self.store.posted(envelope.outbox_id, *posted)
        return posted

    def _find_marker(self, channel: str, thread_ts: str, outbox_id: int) -> str | None | Result:
        """The ts of the message carrying this row's marker, None when Slack has none (so posting is safe)."""
        if channel.startswith(("U", "W")):  # a DM posted to the user id: its history is under the DM's id
            opened = self._call("conversations.open", users=channel)
            if not isinstance(opened, dict):
                return opened
            self._resolved[channel] = str((opened.get("channel") or {}).get("id") or channel)
            channel = self._resolved[channel]
        if thread_ts:
            answer = self._call("conversations.replies", channel=channel, ts=thread_ts, limit=100,
                                include_all_metadata=True)
        else:
            answer = self._call("conversations.history", channel=channel, limit=100, include_all_metadata=True)
        if not isinstance(answer, dict):
            return answer
        for message in answer.get("messages") or []:
            meta = message.get("metadata") or {}
            if meta.get("event_type") == MARKER and str((meta.get("event_payload") or {}).get("outbox_id")) == str(
                    outbox_id):
                return str(message.get("ts"))
        return None

    def _call(self, method: str, **args: Any) -> dict[str, Any] | TryAgain | Refused:
        """One Web API call, with Slack's refusals translated into outbox results."""
        held = self.held.get(method)
        if held is not None and held > self.now:
            waiting = held - self.now
            return TryAgain(f"{method} is rate limited by Slack for {waiting.total_seconds():.0f} s more", 429,
                            waiting)
        try:
            response = getattr(self.client, method.replace(".", "_"))(**args)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error") or f"HTTP {status}")
            if status == 429 or error == "ratelimited":
                headers = {str(k).lower(): str(v) for k, v in (exc.response.headers or {}).items()}
                after = retry_after(headers.get("retry-after"), self.now) or timedelta(seconds=1)
                self.held[method] = self.now + after
                return TryAgain(f"Slack rate limited {method} (retry after {after.total_seconds():.0f} s)", 429, after)
            if error in PERMANENT:
                return Refused(f"Slack refused {method}: {error}", status)
            return TryAgain(f"Slack answered {method} with {error}", status)
        except (SlackClientError, OSError, TimeoutError) as exc:
            return TryAgain(f"could not reach Slack for {method}: {type(exc).__name__}")
        return dict(response.data) if isinstance(response.data, dict) else {}


def slack_target(settings: Settings, db: Any, templates: Templates, cases: CasePolicy,
                 fallback: DeliveryTarget) -> DeliveryTarget:
    """The outbox's target: Slack in front of `fallback` when Slack is configured, else `fallback` alone."""
    if not settings.slack_enabled:
        return fallback
    return SlackTarget(settings, SlackStore(db), templates, cases, fallback)

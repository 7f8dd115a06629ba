"""Support agents in Slack: the message shortcut "Hand off to a Data Strategist" (with a note, in a modal),
the `/connectbot` command (answered so only the agent sees it), and the App Home list of open cases."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import select

from bot.channels.slack.blocks import section, split_text
from bot.channels.slack.convert import conversation_user, org_of, place_of_message
from bot.channels.slack.handler import Handler
from bot.store.rows import CONVERSATIONS
from bot.types import Channel, ConversationKey, Inbound, InboundKind

log = logging.getLogger("connectbot.slack")

SHORTCUT = "handoff_to_strategist"
MODAL = "handoff_note"
NOTE_BLOCK, NOTE_INPUT = "note", "note_input"
Respond = Callable[..., Awaitable[Any]]
_SLACK_ERRORS = (SlackApiError, SlackClientError, OSError, TimeoutError)


class Agents:
    def __init__(self, handler: Handler) -> None:
        self.h = handler
        self.templates = handler.services.engine.runner.templates
        self.team_orgs = handler.services.settings.slack_team_orgs

    def _label(self, name: str) -> str:
        return self.templates.render("slack/label", {"name": name})

    # ---- the message shortcut and its modal ---------------------------------------------------

    async def open_modal(self, body: Mapping[str, Any]) -> None:
        message = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id") or "")
        team = str(message.get("user_team") or message.get("team") or (body.get("team") or {}).get("id") or "")
        about = {"channel": channel, "ts": str(message.get("ts") or body.get("message_ts") or ""),
                 "thread_ts": str(message.get("thread_ts") or ""), "user": str(message.get("user") or ""),
                 "team": team}
        view = {"type": "modal", "callback_id": MODAL, "private_metadata": json.dumps(about),
                "title": {"type": "plain_text", "text": self._label("modal_title")[:24]},
                "submit": {"type": "plain_text", "text": self._label("modal_submit")[:24]},
                "close": {"type": "plain_text", "text": self._label("modal_close")[:24]},
                "blocks": [{"type": "input", "block_id": NOTE_BLOCK, "optional": True,
                            "label": {"type": "plain_text", "text": self._label("note_label")},
                            "hint": {"type": "plain_text", "text": self._label("note_hint")},
                            "element": {"type": "plain_text_input", "action_id": NOTE_INPUT, "multiline": True,
                                        "max_length": 2000}}]}
        try:
            await self.h.client.views_open(trigger_id=str(body.get("trigger_id") or ""), view=view)
        except _SLACK_ERRORS as exc:
            log.warning("could not open the hand-off modal: %s", _error(exc))

    async def submitted(self, body: Mapping[str, Any]) -> None:
        view = body.get("view") or {}
        try:
            about = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            about = {}
        values = (view.get("state") or {}).get("values") or {}
        note = str(((values.get(NOTE_BLOCK) or {}).get(NOTE_INPUT) or {}).get("value") or "")
        key = await self._key_of_message(about)
        if key is None:
            log.info("hand-off from a message the bot cannot place (%s); dropped", about.get("channel"))
            return
        agent = body.get("user") or {}
        by = await self.h.names.name(str(agent.get("id") or ""), str(agent.get("username") or ""))
        await self.h.turn(key, Inbound(InboundKind.AGENT, f"slack:handoff:{view.get('id') or about.get('ts')}",
                                       data={"action": "handoff", "note": note, "by": by}))

    async def _key_of_message(self, about: Mapping[str, Any]) -> ConversationKey | None:
        channel, user = str(about.get("channel") or ""), str(about.get("user") or "")
        if not channel or not about.get("ts"):
            return None
        place = place_of_message(channel, str(about["ts"]), str(about.get("thread_ts") or ""),
                                 is_dm=channel.startswith("D"))
        user_key = user if not place.thread_ts else conversation_user(place)
        if not user_key:
            return None
        found = await self.h.in_thread(self.h.store.open_conversation, user_key)
        if found is not None:
            return found[1]
        return ConversationKey(Channel.SLACK, org_of(str(about.get("team") or ""), self.team_orgs), user_key)

    # ---- /connectbot --------------------------------------------------------------------------

    async def command(self, body: Mapping[str, Any], respond: Respond) -> None:
        words = str(body.get("text") or "").strip().split(maxsplit=1)
        what = words[0].lower() if words else "help"
        found = await self.h.in_thread(self.h.store.latest_in_channel, str(body.get("channel_id") or ""))
        if what not in ("status", "handoff", "case"):
            await self._say(respond, {"what": "help"})
        elif found is None:
            await self._say(respond, {"what": "none"})
        elif what == "status":
            await self._say(respond, {"what": "status", **await self.h.in_thread(self._status, found[0])})
        elif what == "handoff":
            note = words[1] if len(words) > 1 else ""
            by = await self.h.names.name(str(body.get("user_id") or ""), str(body.get("user_name") or ""))
            await self.h.turn(found[1], Inbound(InboundKind.AGENT, f"slack:command:{body.get('trigger_id')}",
                                                data={"action": "handoff", "note": note, "by": by}))
            await self._say(respond, {"what": "handoff", "note": note})
        else:
            await self._say(respond, {"what": "case", **await self._case_link(found[0])})

    def _status(self, conversation_id: int) -> dict[str, Any]:
        engine = self.h.services.engine
        with engine.db.connect() as conn:
            found = conn.execute(select(CONVERSATIONS.c.state, CONVERSATIONS.c.slots).where(
                CONVERSATIONS.c.id == conversation_id)).first()
            sync = engine.sql.latest_connection(conn, conversation_id)
        state, slots = (found.state, dict(found.slots or {})) if found else ("", {})
        connected = slots.get("connected_regions") or []
        return {"conversation": f"c-{conversation_id}", "step": state,
                "case": f"case-{slots['case_id']}" if slots.get("case_id") else "",
                "case_status": slots.get("case_status") or "",
                "connection": ", ".join(connected) if connected else "",
                "sync": sync.sync_status if sync else "", "progress": sync.sync_progress if sync else 0}

    async def _case_link(self, conversation_id: int) -> dict[str, Any]:
        case = await self.h.in_thread(self.h.store.latest_case, conversation_id)
        card = await self.h.in_thread(self.h.store.card_of_case, case.id) if case else None
        if case is None or card is None:
            return {"link": "", "case": "", "case_status": ""}
        try:
            answer = await self.h.client.chat_getPermalink(channel=card.channel, message_ts=card.ts)
            link = str(answer.get("permalink") or "")
        except _SLACK_ERRORS as exc:
            log.warning("could not get the case card's link: %s", _error(exc))
            link = ""
        return {"link": link, "case": f"case-{case.id}", "case_status": case.status}

    async def _say(self, respond: Respond, variables: dict[str, Any]) -> None:
        try:
            await respond(text=self.templates.render("slack/command", variables), response_type="ephemeral")
        except _SLACK_ERRORS as exc:
            log.warning("could not answer /connectbot: %s", _error(exc))

    # ---- App Home -----------------------------------------------------------------------------

    async def home(self, user: str) -> None:
        cases = await self.h.in_thread(self.h.store.open_cases)
        policy, now = self.h.services.engine.cases, self.h.services.clock.now()
        listed = []
        for case in cases:
            due = policy.reminder_due(case.opened_at)
            listed.append({"id": case.id, "reason": case.reason, "status": case.status,
                           "claimed_by": case.claimed_by or "", "overdue": case.status == "open" and due < now,
                           "due": due.strftime("%a %-d %b, %H:%M UTC")})
        text = self.templates.render("slack/home", {"cases": listed})
        view = {"type": "home", "blocks": [section(piece) for piece in split_text(text)][:100]}
        try:
            await self.h.client.views_publish(user_id=user, view=view)
        except _SLACK_ERRORS as exc:
            log.warning("could not publish the App Home of %s: %s", user, _error(exc))


def _error(exc: Exception) -> str:
    return str(exc.response.get("error")) if isinstance(exc, SlackApiError) else type(exc).__name__



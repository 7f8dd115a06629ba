"""The case card in the triage channel: who, why, facts, SLA, and the buttons that move the case.

Pure: a case in, Block Kit out. `shown` is a short fingerprint of what the card shows, so delivery
updates a card (chat.update) once per change of the case and never for nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.channels.slack.blocks import button, context, escape, section, split_text
from bot.channels.slack.convert import place_of
from bot.channels.slack.store import CaseView
from bot.render import Templates
from flows.handoff import RETURN_STEPS

CLAIM, RETURN, RESOLVE = "case:claim", "case:return", "case:resolve"
CASE_ACTIONS = (CLAIM, RETURN, RESOLVE)
_SLACK_ID = re.compile(r"^(?:[UW][A-Z0-9]{2,}|S[A-Z0-9]{2,})$")


def mention(who: str) -> str:
    """A Slack user (`U…`) or user group (`S…`) id as a mention; anything else (a team name) as it is."""
    if not _SLACK_ID.match(who):
        return who
    return f"<!subteam^{who}>" if who.startswith("S") else f"<@{who}>"


def with_mentions(text: str, people: Iterable[str]) -> str:
    """Strategist text with each configured strategist id written as a mention, so Slack notifies them."""
    for who in sorted({p for p in people if _SLACK_ID.match(p)}, key=len, reverse=True):
        text = re.sub(rf"(?<![<@^A-Z0-9]){re.escape(who)}(?![A-Z0-9>])", mention(who), text)
    return text


def who_of(packet: dict[str, Any]) -> str:
    customer = str(packet.get("customer", ""))
    if packet.get("channel") != "slack":
        return escape(customer)
    place = place_of(customer)
    if place.thread_ts:
        return f"a thread in <#{place.channel}>"
    return mention(place.channel)


def shown(case: CaseView) -> str:
    return "|".join((case.status, case.claimed_by or "", "escalated" if case.escalated else "", case.rating or ""))


def card(case: CaseView, sla_due: datetime, templates: Templates) -> dict[str, Any]:
    """`text` and `blocks` of the card, as chat.postMessage and chat.update take them."""
    case_id = f"case-{case.id}"
    body = templates.render("slack/card", {
        "case_id": case_id, "packet": case.packet, "who": who_of(case.packet),
        "route": mention(case.routed_to or str(case.packet.get("routed_to", ""))),
        "sla_due": sla_due.strftime("%a %-d %b, %H:%M UTC"),
    })
    status = templates.render("slack/card_status", {"status": case.status, "by": case.claimed_by or "",
                                                    "escalated": case.escalated, "rating": case.rating or ""})
    blocks: list[dict[str, Any]] = [section(piece) for piece in split_text(body)][:40]
    blocks.append(context(status))
    value = str(case.id)
    if case.status in ("open", "claimed"):
        elements: list[dict[str, Any]] = []
        if case.status == "open":
            elements.append(button(templates.render("slack/label", {"name": "claim"}), CLAIM, value, "primary"))
        elements.append({
            "type": "static_select", "action_id": RETURN,
            "placeholder": {"type": "plain_text", "text": templates.render("slack/label", {"name": "return"})},
            "options": [{"text": {"type": "plain_text",
                                  "text": templates.render("slack/label", {"name": f"step_{step}"})},
                         "value": f"{value}:{step}"} for step in RETURN_STEPS],
        })
        elements.append(button(templates.render("slack/label", {"name": "resolve"}), RESOLVE, value))
        blocks.append({"type": "actions", "block_id": f"case:{value}", "elements": elements})
    return {"text": f"{body.splitlines()[0]} {status}"[:3000], "blocks": blocks}

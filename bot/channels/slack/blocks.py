"""Outbound messages -> Block Kit (text sections, choice buttons, link buttons), within Slack's limits.

Pure functions of the outbox payload (bot/engine/payload.py) and the templates; no I/O.
Limits (Slack's, as slack_sdk validates them): section text 3000 characters, button text 75,
button value 2000, URL 3000, 25 elements per actions block, 50 blocks per message; long text is
split over sections and cut (with a note) past ~12,000 characters, where Slack starts refusing
messages as `msg_blocks_too_long` even below the per-block limits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.render import Templates

SECTION_LIMIT = 3000
MESSAGE_TEXT_LIMIT = 12_000
BUTTON_TEXT_LIMIT = 75
BUTTON_VALUE_LIMIT = 2000
URL_LIMIT = 3000
ACTIONS_PER_BLOCK = 25
BLOCKS_PER_MESSAGE = 50
FALLBACK_LIMIT = 3000  # the notification text; Slack would take 40,000 but nobody reads that in a banner
CHOICE_ACTION = "choice"  # action ids are "choice:<n>"; the value is the choice's label


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as control characters; everything else is shown as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most `limit` characters, broken at paragraph, line or word ends where there is one."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SECTION_LIMIT)}}


def button(label: str, action_id: str, value: str, style: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": _clip(label, BUTTON_TEXT_LIMIT)},
                           "action_id": action_id, "value": value[:BUTTON_VALUE_LIMIT]}
    if style:
        out["style"] = style
    return out


def text_blocks(text: str, templates: Templates) -> list[dict[str, Any]]:
    body = text
    cut = len(body) > MESSAGE_TEXT_LIMIT
    if cut:
        body = body[:MESSAGE_TEXT_LIMIT]
    blocks = [section(piece) for piece in split_text(body)]
    if cut:
        blocks.append(context(templates.render("slack/truncated", {})))
    return blocks


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, SECTION_LIMIT)}]}


def message_text(payload: Mapping[str, Any], templates: Templates) -> str:
    """The message as mrkdwn: escaped, marked as a person's when a strategist wrote it, links written out."""
    text = escape(str(payload.get("text", "")))
    author = str(payload.get("author") or "")
    if author:
        text = templates.render("slack/from_person", {"name": escape(author), "text": text})
    for link in payload.get("links") or []:
        url = str(link.get("url", ""))[:URL_LIMIT]
        text += f"\n<{url}|{escape(str(link.get('label', url)))}>"
    return text


def to_blocks(payload: Mapping[str, Any], templates: Templates) -> dict[str, Any]:
    """`text` (the notification fallback) and `blocks` for chat.postMessage."""
    text = message_text(payload, templates)
    blocks = text_blocks(text, templates)
    links = [li for li in payload.get("links") or [] if str(li.get("url", "")).startswith(("http://", "https://"))]
    link_buttons = [{"type": "button", "text": {"type": "plain_text", "text": _clip(str(li["label"]), 75)},
                     "url": str(li["url"])[:URL_LIMIT], "action_id": f"link:{n}", "style": "primary"}
                    for n, li in enumerate(links)]
    choice_buttons = [button(str(label), f"{CHOICE_ACTION}:{n}", str(label))
                      for n, label in enumerate(payload.get("choices") or [])]
    elements = link_buttons + choice_buttons
    for start in range(0, len(elements), ACTIONS_PER_BLOCK):
        blocks.append({"type": "actions", "block_id": f"actions:{start // ACTIONS_PER_BLOCK}",
                       "elements": elements[start:start + ACTIONS_PER_BLOCK]})
    return {"text": _clip(text, FALLBACK_LIMIT), "blocks": blocks[:BLOCKS_PER_MESSAGE]}


def answered(blocks: Sequence[Mapping[str, Any]], label: str, templates: Templates) -> list[dict[str, Any]]:
    """The message after a press: its text as it was, its choice buttons replaced by the answer chosen."""
    kept: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("type") != "actions":
            kept.append(dict(block))
            continue
        links = [e for e in block.get("elements") or [] if e.get("url")]  # sign-in links stay usable
        if links:
            kept.append({**block, "elements": links})
    kept.append(context(templates.render("slack/chosen", {"label": escape(label)})))
    return kept

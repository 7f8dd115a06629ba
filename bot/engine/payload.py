"""An outbound message as JSON (what the chat-jsonl protocol and the outbox carry), and back."""

from __future__ import annotations

from typing import Any

from bot.types import Audience, CaseRef, Choice, Link, Outbound, Topic


def outbound_json(message: Outbound) -> dict[str, Any]:
    """An outbound message as the chat-jsonl protocol and the outbox carry it."""
    out: dict[str, Any] = {"audience": message.audience.value, "topic": message.topic.value, "text": message.text}
    if message.choices:
        out["choices"] = [c.label for c in message.choices]
    if message.links:
        out["links"] = [{"label": li.label, "url": li.url, "authorize_url": li.authorize_url, "region": li.region}
                        for li in message.links]
    if message.case:
        out["case"] = {"id": message.case.id, "status": message.case.status, "reason": message.case.reason}
    if message.author:
        out["author"] = message.author
    return out


def outbound_from_json(payload: dict[str, Any]) -> Outbound:
    """An outbox payload back as a message, for adapters that deliver from the outbox (choice values are labels)."""
    case = payload.get("case")
    return Outbound(
        audience=Audience(payload["audience"]), topic=Topic(payload["topic"]), text=str(payload["text"]),
        choices=tuple(Choice(str(label), str(label)) for label in payload.get("choices", [])),
        links=tuple(Link(str(li["label"]), str(li["url"]), str(li["authorize_url"]), str(li["region"]))
                    for li in payload.get("links", [])),
        case=CaseRef(str(case["id"]), str(case["status"]), str(case["reason"])) if isinstance(case, dict) else None,
        author=str(payload.get("author", "")),
    )

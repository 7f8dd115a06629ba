"""A transcript row as the widget shows it: the Message JSON of the in-app API and its stream.

Ids are transcript row ids: one increasing sequence over both sides of the conversation, so
`after=ID` and `Last-Event-ID` resume exactly where the widget left off.
"""

from __future__ import annotations

from typing import Any

from bot.engine.reads import SaidRow


def message_json(row: SaidRow) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "at": row.at.isoformat(timespec="milliseconds").replace("+00:00", "Z")}
    if row.direction == "in":
        out.update({"from": "customer", "author": "", "kind": row.kind, "text": row.text})
        client_id = row.data.get("client_message_id")
        if isinstance(client_id, str):
            out["client_message_id"] = client_id
        return out
    author = str(row.data.get("author") or "")
    out.update({"from": "person" if author else "bot", "author": author, "topic": row.topic, "text": row.text})
    choices = row.data.get("choices")
    if isinstance(choices, list) and choices:
        out["choices"] = [str(c) for c in choices]
    links = row.data.get("links")
    if isinstance(links, list) and links:
        out["links"] = [{"label": str(li.get("label", "")), "url": str(li.get("url", "")),
                         "region": str(li.get("region", ""))} for li in links if isinstance(li, dict)]
    return out

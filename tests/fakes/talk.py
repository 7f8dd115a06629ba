"""Small helpers to talk to an engine the way a channel adapter would."""

from __future__ import annotations

import itertools
from typing import Any

from bot.app import Services
from bot.engine import TurnResult
from bot.types import Channel, ConversationKey, Inbound, InboundKind

_keys = itertools.count(1)
CUSTOMER = ConversationKey(Channel.WEBCHAT, "acme", "u1")


def say(services: Services, text: str, key: ConversationKey = CUSTOMER, event: str | None = None) -> TurnResult:
    return services.engine.handle(key, Inbound(InboundKind.SAY, event or f"t:{next(_keys)}", text=text))


def click(services: Services, label: str, key: ConversationKey = CUSTOMER) -> TurnResult:
    return services.engine.handle(key, Inbound(InboundKind.CLICK, f"t:{next(_keys)}", text=label))


def event(services: Services, kind: InboundKind, data: dict[str, Any],
          key: ConversationKey = CUSTOMER) -> TurnResult:
    return services.engine.handle(key, Inbound(kind, f"t:{next(_keys)}", data=data))


def topics(result: TurnResult) -> list[str]:
    return [m.topic.value for m in result.messages]


def texts(result: TurnResult) -> str:
    return "\n".join(m.text for m in result.messages)

"""Where every conversation starts and returns: free text is routed by topic from here."""

from __future__ import annotations

from bot.types import Topic
from flows.base import Flow, Node
from flows.states import Home as S

FLOW = Flow(
    name="home",
    summary="No journey running: the customer's topic decides which flow starts.",
    entry=S.IDLE,
    states={S.IDLE: Node(topic=Topic.OFF_TOPIC, resumable=False)},
)

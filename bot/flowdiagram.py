"""The flows as one Mermaid flowchart, drawn from the declarations that also drive the bot.

One `flowchart` with a subgraph per flow (node ids are the state values, unique across flows),
so any Mermaid viewer takes `python -m bot flows diagram` whole. Every edge says what takes it:
the intent (topic) that starts a flow from home, the choice a customer clicks, the handler that
decides (on entering a step, on a choice, on free text, on an event) or the timer that fires.
Drawing some flows only, targets in other flows appear as exits (`[/"flow.state"/]`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum

import flows
from bot.types import InboundKind, Topic
from flows.base import Flow, Node
from flows.handoff import RETURN_STEPS
from flows.states import Region, Signin

# A customer already connected who asks to connect again (flows.entry_for) starts another connection.
_ANOTHER_CONNECTION = (
    (Signin.SEND, "connected, new marketplaces named"),
    (Region.ASK, "connected, asks to connect again"),
)


def node_id(state: StrEnum | str) -> str:
    """A Mermaid id for a state: its value with the dot replaced ("connect.route" -> "connect_route")."""
    return str(state).replace(".", "_")


def diagram(chosen: Iterable[Flow]) -> str:
    """The chosen flows as one flowchart: a subgraph each, and every edge leaving their states."""
    chosen = tuple(chosen)
    drawn = {state for flow in chosen for state in flow.states}
    lines = ["flowchart TD"]
    for flow in chosen:
        lines.append(f"    %% {flow.name}: {flow.summary}")
        lines.append(f'    subgraph flow_{flow.name}["{flow.name}"]')
        for state, node in flow.states.items():
            label = state.value.split(".", 1)[1]
            shape = f'(["{label}"])' if state == flow.entry else f'["{label}<br/><small>{node.topic.value}</small>"]'
            lines.append(f"        {node_id(state)}{shape}")
        lines.append("    end")
    edges = [edge for flow in chosen for state, node in flow.states.items() for edge in _edges(state, node)]
    outside = sorted({target.value for _, target, _, _ in edges if target not in drawn})
    lines += [f'    {node_id(target)}[/"{target}"/]' for target in outside]
    for source, target, arrow, label in edges:
        lines.append(f'    {node_id(source)} {arrow}|"{_quoted(label)}"| {node_id(target)}')
    return "\n".join(lines) + "\n"


def _edges(state: StrEnum, node: Node) -> list[tuple[StrEnum, StrEnum, str, str]]:
    """(source, target, arrow, label): thick for intents, solid for choices, dotted for handlers and timers."""
    edges: list[tuple[StrEnum, StrEnum, str, str]] = []
    if state == flows.START:
        for target, topics in _entries(flows.ENTRY_POINTS).items():
            edges.append((state, target, "==>", "<br/>".join(topics)))
        edges += [(state, target, "==>", why) for target, why in _ANOTHER_CONNECTION]
    for option in node.options:
        if option.to is not None:
            edges.append((state, option.to, "-->", option.label))
    returns = {target: step for step, target in RETURN_STEPS.items()}
    decides = _handlers(node)
    for target in node.exits:
        if target in returns and InboundKind.STRATEGIST in node.on_event:
            edges.append((state, target, "-.->", f"strategist returns to {returns[target]}"))
        else:
            edges.append((state, target, "-.->", decides))
    for timer in node.timers:
        hours = int(timer.after.total_seconds() // 3600)
        edges.append((state, state, "-.->", f"{timer.kind} after {hours} h"))
    return edges


def _entries(entry_points: Mapping[Topic, StrEnum]) -> dict[StrEnum, list[str]]:
    by_target: dict[StrEnum, list[str]] = {}
    for topic, target in entry_points.items():
        by_target.setdefault(target, []).append(topic.value)
    return by_target


def _handlers(node: Node) -> str:
    """Which of the node's handlers may take its exits: what the customer (or an event) did."""
    kinds = [name for name, handler in (("on entering", node.on_enter), ("on a choice", node.on_choice),
                                        ("on free text", node.on_text)) if handler is not None]
    kinds += [f"on {kind.value} event" for kind in node.on_event]
    return " / ".join(kinds) or "handler"


def _quoted(label: str) -> str:
    return label.replace('"', "#quot;")

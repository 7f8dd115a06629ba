"""Slack payloads -> what the engine hears. Pure functions of plain dicts; no I/O, no bolt types.

Where a conversation lives is its key: a DM is keyed by the customer's user id (one conversation
per DM), a channel conversation by `<channel>/<thread ts>` (one per thread), so the key alone tells
delivery where to post (`place_of`). The idempotency key of a message is its channel and ts, which
a retry and the same message arriving as `message` and `app_mention` share.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.types import Channel, ConversationKey, Inbound, InboundKind

# Message subtypes that are still a person writing; every other subtype (edits, deletions, joins,
# bot messages, channel topic changes ...) is not something to answer.
_SPOKEN_SUBTYPES = {None, "", "thread_broadcast", "file_share"}
_MENTION = re.compile(r"<@[UW][A-Z0-9]+>")


@dataclass(frozen=True)
class Place:
    """Where in Slack a conversation is: a channel (or a user id, for their DM) and the thread in it."""

    channel: str
    thread_ts: str = ""


def conversation_user(place: Place) -> str:
    return f"{place.channel}/{place.thread_ts}" if place.thread_ts else place.channel


def place_of(user_key: str) -> Place:
    channel, _, thread = user_key.partition("/")
    return Place(channel, thread)


@dataclass(frozen=True)
class CustomerMessage:
    key: ConversationKey
    inbound: Inbound
    place: Place
    slack_user: str
    starts: bool  # may open a conversation (DM, mention, Slack Connect); else only continues a known thread


@dataclass(frozen=True)
class StrategistReply:
    """A message in a case card's thread in the triage channel (whether it is one is checked against the cards)."""

    channel: str
    thread_ts: str
    slack_user: str
    text: str
    key: str


@dataclass(frozen=True)
class Dropped:
    reason: str


Message = CustomerMessage | StrategistReply | Dropped


def org_of(team: str, team_orgs: Mapping[str, str]) -> str:
    return team_orgs.get(team, team) or "slack"


def message_key(channel: str, ts: str) -> str:
    return f"slack:{channel}:{ts}"


def to_inbound(body: Mapping[str, Any], *, bot_user: str = "", own_team: str = "", triage_channel: str = "",
               team_orgs: Mapping[str, str] | None = None) -> Message:
    """An Events API envelope (`message` or `app_mention`) as a customer message, a strategist reply, or dropped."""
    event = body.get("event")
    if not isinstance(event, Mapping):
        return Dropped("no event in the envelope")
    kind, subtype = event.get("type"), event.get("subtype")
    if kind not in ("message", "app_mention"):
        return Dropped(f"event type {kind!r} is not a message")
    if subtype not in _SPOKEN_SUBTYPES:
        return Dropped(f"message subtype {subtype!r} (edits, deletions and the like are not answered)")
    user, channel, ts = str(event.get("user") or ""), str(event.get("channel") or ""), str(event.get("ts") or "")
    if event.get("bot_id") or event.get("bot_profile"):
        return Dropped("a bot's message" if user != bot_user else "the bot's own message")
    if bot_user and user == bot_user:
        return Dropped("the bot's own message")
    text = _MENTION.sub("", str(event.get("text") or "")).strip()
    if not user or not channel or not ts:
        return Dropped("a message without a user, channel or ts")
    if not text:
        return Dropped("a message without text")
    thread_ts = str(event.get("thread_ts") or "")
    if triage_channel and channel == triage_channel:
        if thread_ts and kind == "message":
            return StrategistReply(channel, thread_ts, user, text, message_key(channel, ts))
        return Dropped("a triage channel message outside a case card's thread")
    team = str(event.get("user_team") or event.get("team") or body.get("team_id") or "")
    org = org_of(team, team_orgs or {})
    inbound = Inbound(InboundKind.SAY, message_key(channel, ts), text=text)
    if kind == "message" and event.get("channel_type") == "im":
        place = Place(channel)
        return CustomerMessage(ConversationKey(Channel.SLACK, org, user), inbound, place, user, True)
    place = Place(channel, thread_ts or ts)
    key = ConversationKey(Channel.SLACK, org, conversation_user(place))
    if kind == "app_mention":
        return CustomerMessage(key, inbound, place, user, True)
    shared = bool(body.get("is_ext_shared_channel") or event.get("is_ext_shared_channel"))
    if shared and team and team != own_team:
        return CustomerMessage(key, inbound, place, user, True)
    if thread_ts:
        return CustomerMessage(key, inbound, place, user, False)
    return Dropped("a channel message that does not mention the bot")


@dataclass(frozen=True)
class Press:
    """A button press or a menu choice in a message the bot posted."""

    channel: str
    message_ts: str
    thread_ts: str
    action_id: str
    value: str
    label: str
    slack_user: str
    user_name: str
    blocks: tuple[dict[str, Any], ...]


def press_of(payload: Mapping[str, Any]) -> Press | None:
    """The first action of a `block_actions` payload, or None when it has none we can read."""
    actions = payload.get("actions") or []
    if not actions or not isinstance(actions[0], Mapping):
        return None
    action = actions[0]
    container = payload.get("container") or {}
    message = payload.get("message") or {}
    channel = str(container.get("channel_id") or (payload.get("channel") or {}).get("id") or "")
    message_ts = str(container.get("message_ts") or message.get("ts") or "")
    selected = action.get("selected_option") or {}
    value = str(action.get("value") or selected.get("value") or "")
    label = str((action.get("text") or {}).get("text") or (selected.get("text") or {}).get("text") or value)
    user = payload.get("user") or {}
    if not channel or not message_ts or not value:
        return None
    return Press(channel, message_ts, str(container.get("thread_ts") or message.get("thread_ts") or ""),
                 str(action.get("action_id") or ""), value, label, str(user.get("id") or ""),
                 str(user.get("username") or user.get("name") or ""), tuple(message.get("blocks") or ()))


def click_key(press: Press) -> str:
    """One answer per message: a second press of the same message's buttons is the same click."""
    return f"slack:click:{press.channel}:{press.message_ts}"


def place_of_message(channel: str, ts: str, thread_ts: str, is_dm: bool) -> Place:
    """Where the conversation of a message is, for a shortcut or a command on it."""
    return Place(channel) if is_dm else Place(channel, thread_ts or ts)

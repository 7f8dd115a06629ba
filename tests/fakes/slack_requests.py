"""Requests as Slack sends them: real payload shapes, signed with v0 HMAC-SHA256 over the raw body.

Shapes follow Slack's documented examples (Events API envelope with `event_id`, `authorizations`,
`is_ext_shared_channel`; interactivity as a form field `payload`; slash commands as a form).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from tests.fakes.slack_api import BOT_USER, TEAM

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CUSTOMER, CUSTOMER_TEAM = "UCUST0001", "TCUST0001"
EXTERNAL, EXTERNAL_TEAM = "UEXT00001", "TEXT00001"
STRATEGIST, AGENT = "USTRAT001", "UAGENT001"
DM = "DCUST0001"
_ids = itertools.count(1)


def signature(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed(body: bytes, content_type: str, *, secret: str = SECRET, at: float | None = None,
           retry: int | None = None) -> dict[str, str]:
    timestamp = str(int(at if at is not None else time.time()))
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
               "X-Slack-Signature": signature(body, timestamp, secret)}
    if retry is not None:
        headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
    return headers


def ts() -> str:
    return f"1780000000.{next(_ids):06d}"


def envelope(event: dict[str, Any], *, event_id: str | None = None, shared: bool = False,
             team: str = TEAM) -> dict[str, Any]:
    return {"token": "legacy", "team_id": team, "api_app_id": "A0APP0001", "event": event, "type": "event_callback",
            "event_id": event_id or f"Ev{next(_ids):08d}", "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": TEAM, "user_id": BOT_USER, "is_bot": True,
                                "is_enterprise_install": False}],
            "is_ext_shared_channel": shared, "event_context": f"4-{next(_ids)}"}


def dm(text: str, *, user: str = CUSTOMER, team: str = CUSTOMER_TEAM, at: str | None = None,
       **extra: Any) -> dict[str, Any]:
    moment = at or ts()
    return envelope({"type": "message", "channel": DM, "user": user, "text": text, "ts": moment,
                     "event_ts": moment, "channel_type": "im", "team": team, "client_msg_id": f"m{moment}", **extra})


def mention(text: str, *, channel: str = "CSUPPORT1", thread_ts: str | None = None, user: str = CUSTOMER,
            team: str = CUSTOMER_TEAM, at: str | None = None) -> dict[str, Any]:
    moment = at or ts()
    event = {"type": "app_mention", "channel": channel, "user": user, "text": f"<@{BOT_USER}> {text}",
             "ts": moment, "event_ts": moment, "team": team}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return envelope(event)


def channel_message(text: str, *, channel: str, user: str, team: str, thread_ts: str | None = None,
                    at: str | None = None, shared: bool = False) -> dict[str, Any]:
    moment = at or ts()
    event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": moment, "event_ts": moment,
             "channel_type": "channel", "team": team}
    if shared:
        event["user_team"] = team
        event["source_team"] = team
    if thread_ts:
        event["thread_ts"] = thread_ts
    return envelope(event, shared=shared)


def as_json(payload: dict[str, Any]) -> tuple[bytes, str]:
    return json.dumps(payload).encode(), "application/json"


def as_form(payload: dict[str, Any]) -> tuple[bytes, str]:
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def block_actions(*, channel: str, message: dict[str, Any], action: dict[str, Any], user: str = CUSTOMER,
                  thread_ts: str | None = None) -> dict[str, Any]:
    container = {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False}
    if thread_ts:
        container["thread_ts"] = thread_ts
    return {"type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": CUSTOMER_TEAM},
            "api_app_id": "A0APP0001", "token": "legacy", "container": container,
            "trigger_id": f"{next(_ids)}.trigger", "team": {"id": TEAM, "domain": "home"},
            "channel": {"id": channel, "name": "dm"}, "message": {**message, "type": "message"},
            "response_url": "https://hooks.slack.com/actions/T/1/x",
            "actions": [{"block_id": "b", "action_ts": f"{time.time():.6f}{next(_ids)}", **action}]}


def message_action(*, channel: str, message: dict[str, Any], user: str = AGENT) -> dict[str, Any]:
    return {"type": "message_action", "callback_id": "handoff_to_strategist", "trigger_id": f"{next(_ids)}.trig",
            "token": "legacy", "action_ts": f"{time.time():.6f}", "team": {"id": TEAM, "domain": "home"},
            "user": {"id": user, "name": user.lower()}, "channel": {"id": channel, "name": "support"},
            "message": {"type": "message", **message}, "message_ts": message["ts"],
            "response_url": "https://hooks.slack.com/app/T/1/x"}


def view_submission(*, private_metadata: str, note: str, user: str = AGENT) -> dict[str, Any]:
    return {"type": "view_submission", "team": {"id": TEAM, "domain": "home"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM}, "api_app_id": "A0APP0001",
            "token": "legacy", "trigger_id": f"{next(_ids)}.trig",
            "view": {"id": f"V{next(_ids):09d}", "type": "modal", "callback_id": "handoff_note",
                     "private_metadata": private_metadata, "team_id": TEAM, "app_id": "A0APP0001",
                     "state": {"values": {"note": {"note_input": {"type": "plain_text_input", "value": note}}}}}}


def slash_command(text: str, *, channel: str, response_url: str, user: str = AGENT) -> tuple[bytes, str]:
    form = {"token": "legacy", "team_id": TEAM, "team_domain": "home", "channel_id": channel,
            "channel_name": "support", "user_id": user, "user_name": user.lower(), "command": "/connectbot",
            "text": text, "api_app_id": "A0APP0001", "response_url": response_url,
            "trigger_id": f"{next(_ids)}.trig"}
    return urlencode(form).encode(), "application/x-www-form-urlencoded"


def url_verification(challenge: str) -> dict[str, Any]:
    return {"token": "legacy", "challenge": challenge, "type": "url_verification"}


def app_home_opened(user: str = STRATEGIST) -> dict[str, Any]:
    moment = ts()
    return envelope({"type": "app_home_opened", "user": user, "channel": "DHOME0001", "tab": "home",
                     "event_ts": moment})

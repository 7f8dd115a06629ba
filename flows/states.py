"""Every state of every flow, in one place so flows can point at each other without import cycles.

A value is "<flow>.<state>"; it is what the database stores, so renaming a member is free but
changing a value needs a data migration.
"""

from __future__ import annotations

from enum import StrEnum


class Home(StrEnum):
    IDLE = "home.idle"  # no journey running: free text is routed by topic


class Connect(StrEnum):
    ROUTE = "connect.route"
    ASK_TYPE = "connect.ask_type"
    TYPE_HELP = "connect.type_help"
    AGENCY = "connect.agency"
    AGENCY_DRAFT = "connect.agency_draft"
    PREREQ = "connect.prereq"
    PREREQ_HOW = "connect.prereq_how"
    PREREQ_WHICH = "connect.prereq_which"


class Prereq(StrEnum):
    NEVER_ADVERTISED = "prerequisites.never_advertised"
    REMINDER_SET = "prerequisites.reminder_set"
    REMINDER_DUE = "prerequisites.reminder_due"
    PAUSED = "prerequisites.paused"
    NEED_PERMISSION = "prerequisites.need_permission"
    DRAFT_OWNER = "prerequisites.draft_owner"
    GRANT_HOW = "prerequisites.grant_how"
    REFRESH = "prerequisites.refresh"


class Signup(StrEnum):
    STEPS = "signup.steps"
    EMAIL = "signup.email"
    ORGANIZATION = "signup.organization"
    ADD_ACCOUNT = "signup.add_account"


class Region(StrEnum):
    ASK = "region.ask"


class Signin(StrEnum):
    SEND = "signin.send"
    CANCELLED = "signin.cancelled"
    EXPIRED = "signin.expired"
    RETRY = "signin.retry"
    NO_PROFILES = "signin.no_profiles"
    WRONG_TYPE = "signin.wrong_type"
    OTHER_REGION = "signin.other_region"
    VIEWER_ONLY = "signin.viewer_only"
    UNUSED = "signin.unused"  # the link was not opened in time: one nudge
    RECHECK = "signin.recheck"  # back from a strategist: Amazon asked again with the stored grant


class SpApi(StrEnum):
    REQUIRED = "sp_api.required"
    OFFER = "sp_api.offer"
    NOT_PRIMARY = "sp_api.not_primary"
    CANCELLED = "sp_api.cancelled"


class Sync(StrEnum):
    SYNCING = "sync.syncing"
    DONE = "sync.done"


class Handoff(StrEnum):
    WAITING = "handoff.waiting"  # case open, nobody has claimed it yet
    RELAYING = "handoff.relaying"  # a strategist claimed it: messages pass both ways
    RATING = "handoff.rating"  # resolved: one satisfaction question to the customer
    CLOSED = "handoff.closed"  # resolved by the strategist


ALL_STATES: dict[str, StrEnum] = {
    member.value: member
    for enum in (Home, Connect, Prereq, Signup, Region, Signin, SpApi, Sync, Handoff)
    for member in enum
}

"""New customers (Get Started, email verification, Organization) and existing users (Add Account)."""

from __future__ import annotations

from bot.types import Topic
from flows.answers import says_done, says_not_yet
from flows.base import Ctx, Flow, Node, Option, Step, goto
from flows.handoff import handoff
from flows.states import Connect, Handoff
from flows.states import Signup as S


def _email_reply(ctx: Ctx) -> Step | None:
    if says_not_yet(ctx):
        ctx.choice = "no"
        return _email_answer(ctx)
    if says_done(ctx) or "found" in ctx.inbound.text.lower():
        ctx.choice = "yes"
        return _email_answer(ctx)
    return None


def _steps_reply(ctx: Ctx) -> Step | None:
    text = ctx.inbound.text.lower()
    if "email" in text and says_not_yet(ctx):
        return goto(S.EMAIL)
    return _signed_up(ctx) if says_done(ctx) else None


def _adding_named(ctx: Ctx) -> Step | None:
    """'it's the seller account, Canada only': what to add, said rather than a button pressed, so the bot
    goes on to the link for it (a question about it is answered instead)."""
    slots = ctx.heard.slots if ctx.heard else None
    if slots is None or "?" in ctx.inbound.text or not (slots.account_type or slots.marketplaces):
        return None
    ctx.journey.new_customer = False
    return goto(Connect.ROUTE)


def _signed_up(ctx: Ctx) -> Step:
    ctx.journey.new_customer = False
    ctx.journey.note_tried("sign-up steps")
    return goto(Connect.ROUTE)


def _email_answer(ctx: Ctx) -> Step:
    if ctx.choice == "yes":
        return _signed_up(ctx)
    ctx.journey.note_tried("checked Spam and used Forgot Password")
    return handoff(ctx, "signup_email")


_PERSON = Option("Talk to a person", "person")

FLOW = Flow(
    name="signup",
    summary="Sign-up for new customers, the Organization, and the Add Account path for existing users.",
    entry=S.STEPS,
    states={
        S.STEPS: Node(
            topic=Topic.CONNECT_START,
            say="signup/steps",
            options=(Option("Done", "yes"), Option("No email arrived", "no_email", S.EMAIL)),
            reads="yes_no",
            on_choice=_signed_up,
            on_text=_steps_reply,
            exits=(Connect.ROUTE, S.EMAIL),
        ),
        S.EMAIL: Node(
            topic=Topic.SIGNUP_EMAIL,
            say="signup/email",
            options=(Option("Found it", "yes"), Option("Still nothing", "no")),
            reads="yes_no",
            on_choice=_email_answer,
            on_text=_email_reply,
            exits=(Connect.ROUTE, Handoff.WAITING),
        ),
        S.ORGANIZATION: Node(
            topic=Topic.SIGNUP_ORGANIZATION,
            say="signup/organization",
            options=(Option("Continue", "yes"),),
            reads="yes_no",
            on_choice=_signed_up,
            exits=(Connect.ROUTE,),
        ),
        S.ADD_ACCOUNT: Node(
            topic=Topic.CONNECT_ADD_ACCOUNT,
            say="signup/add_account",
            options=(Option("Send me the link", "yes", Connect.ROUTE, sets={"new_customer": False}), _PERSON),
            reads="yes_no",
            on_text=_adding_named,
            exits=(Connect.ROUTE,),
        ),
    },
)

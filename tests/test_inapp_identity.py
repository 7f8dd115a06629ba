"""The in-app chat trusts only a signed identity: refusals, isolation between customers, start-up rules."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from bot.amazon.vault import new_key
from bot.app import Services, StartupError
from bot.types import Channel, ConversationKey
from bot.web import create_app
from tests.conftest import ServicesFactory
from tests.fakes.host_app import HOST_SECRET, bearer, sign
from tests.fakes.talk import CUSTOMER

LIVE = {"amazon_client_id": "amzn1.application-oa2-client.live", "amazon_client_secret": "s3cret",
        "amazon_redirect_uri": "https://bot.example.com/oauth/amazon/callback",
        "spapi_application_id": "amzn1.sp.solution.live", "token_encryption_keys": None}


def _client(services: Services) -> TestClient:
    return TestClient(create_app(services.settings, services=services, run_timers=False), follow_redirects=False)


def _unsigned(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _refusals(services: Services) -> dict[str, str]:
    clock = services.clock
    exp = int((clock.now() + timedelta(hours=1)).timestamp())
    return {
        "unsigned (alg none)": _unsigned({"sub": "u1", "org": "acme", "exp": exp}),
        "expired": sign(clock, lifetime=timedelta(minutes=-5)),
        "wrongly signed": sign(clock, secret="another-host-secret-0123456789abcdefghij-0123456789abcdefghij-xyz"),
        "another algorithm": jwt.encode({"sub": "u1", "org": "acme", "exp": exp}, HOST_SECRET, algorithm="HS512"),
        "no exp": jwt.encode({"sub": "u1", "org": "acme"}, HOST_SECRET, algorithm="HS256"),
        "exp too far ahead": sign(clock, lifetime=timedelta(hours=25)),
        "no org": jwt.encode({"sub": "u1", "exp": exp}, HOST_SECRET, algorithm="HS256"),
        "sub too long": sign(clock, user="u" * 201),
        "NUL in sub": sign(clock, user="u\x001"),
        "not a token": "not-a-token",
    }


def test_every_unsigned_or_doubtful_identity_is_refused_with_401(services: Services) -> None:
    with _client(services) as client:
        nothing = client.get("/api/chat/messages")
        assert nothing.status_code == 401 and nothing.json()["error"].startswith("missing token")
        for name, token in _refusals(services).items():
            for response in (client.get("/api/chat/messages", headers=bearer(token)),
                             client.post("/api/chat/messages", headers=bearer(token),
                                         json={"client_message_id": "m1", "text": "hi"}),
                             client.get("/api/chat/stream", params={"token": token})):
                assert response.status_code == 401, name
                error = response.json()["error"]
                assert isinstance(error, str) and 0 < len(error) < 120, name
        assert services.engine.conversation_id_for(CUSTOMER) is None, "no refused request wrote anything"
        good = client.get("/api/chat/messages", headers=bearer(sign(services.clock)))
        assert good.status_code == 200
        header_only = client.get("/api/chat/stream", headers=bearer(sign(services.clock)))
        assert header_only.status_code == 401, "the stream takes its token from the query (EventSource)"


def test_user_and_org_in_a_body_or_query_are_ignored(services: Services) -> None:
    with _client(services) as client:
        mallory = bearer(sign(services.clock, user="mallory", org="evil"))
        alice = bearer(sign(services.clock, user="alice", org="acme"))
        client.post("/api/chat/messages", headers=alice, json={"client_message_id": "a1", "text": "hi, vendor here"})
        sent = client.post("/api/chat/messages", headers=mallory,
                           json={"user": "alice", "org": "acme", "client_message_id": "a1", "text": "hijack"})
        assert sent.status_code == 200 and sent.json()["duplicate"] is False, "mallory's own conversation"
        read = client.get("/api/chat/messages", headers=mallory, params={"user": "alice", "org": "acme"}).json()
        assert [m["text"] for m in read["messages"] if m["from"] == "customer"] == ["hijack"]
        mine = client.get("/api/chat/messages", headers=alice).json()
        assert "hijack" not in [m["text"] for m in mine["messages"]]


def test_a_sign_in_link_stays_with_the_conversation_it_was_minted_in(services: Services) -> None:
    with _client(services) as client:
        alice = bearer(sign(services.clock, user="alice", org="acme"))
        mallory = bearer(sign(services.clock, user="mallory", org="acme"))
        for n, body in enumerate(({"text": "hi, we're a vendor and want to connect"}, {"click": "Yes"},
                                  {"text": "amazon.de"})):
            reply = client.post("/api/chat/messages", headers=alice, json={"client_message_id": f"a{n}", **body})
        (link,) = [li for m in reply.json()["messages"] for li in m.get("links", [])]
        client.post("/api/chat/messages", headers=mallory, json={"client_message_id": "m0", "text": "hi, vendor"})
        theirs = client.get("/api/chat/messages", headers=mallory).json()
        assert link["url"] not in json.dumps(theirs), "another customer never reads the link"
        stale = client.post("/api/chat/messages", headers=mallory,
                            json={"client_message_id": "m1", "click": link["label"]})
        assert stale.status_code == 409, "nor presses it as a choice of their own conversation"
        token = link["url"].rsplit("/", 1)[1]
        attempt = services.engine.link(token)
        alices = services.engine.conversation_id_for(ConversationKey(Channel.WEBCHAT, "acme", "alice"))
        assert attempt is not None and attempt.conversation_id == alices


def test_a_choice_not_on_the_latest_message_gets_409_in_plain_words(services: Services) -> None:
    with _client(services) as client:
        client.headers.update(bearer(sign(services.clock)))
        client.post("/api/chat/messages", json={"client_message_id": "m1", "text": "hi, we're a vendor"})
        old = client.post("/api/chat/messages", json={"client_message_id": "m2", "click": "<script>Nope</script>"})
        assert old.status_code == 409
        error = old.json()["error"]
        assert "earlier message" in error and "Nope" not in error and "offered" not in error


def test_without_a_secret_the_demo_page_gets_development_tokens(make_services: ServicesFactory,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    services = make_services(inapp_identity_secret=None)
    with caplog.at_level("WARNING"), _client(services) as client:
        issued = client.post("/api/chat/dev-token", json={"user": "guest-1", "org": "demo", "name": "Dee"})
        assert issued.status_code == 200
        body = issued.json()
        assert (body["user"], body["org"]) == ("guest-1", "demo")
        sent = client.post("/api/chat/messages", headers=bearer(body["token"]),
                           json={"client_message_id": "m1", "text": "hello"})
        assert sent.status_code == 200
        anonymous = client.post("/api/chat/dev-token").json()
        assert anonymous["user"].startswith("guest-") and anonymous["org"] == "demo"
        forged = client.get("/api/chat/messages", headers=bearer(sign(services.clock, user="guest-1", org="demo")))
        assert forged.status_code == 401, "the development secret is made at start, not known in advance"
    said = [r.getMessage() for r in caplog.records if "development" in r.getMessage()]
    assert len(said) == 1


def test_with_a_secret_there_is_no_dev_token_route(services: Services) -> None:
    with _client(services) as client:
        assert client.post("/api/chat/dev-token", json={}).status_code == 404


def test_amazon_credentials_without_an_identity_secret_do_not_start(make_services: ServicesFactory) -> None:
    services = make_services(None, **{**LIVE, "token_encryption_keys": new_key()})
    with pytest.raises(StartupError, match="INAPP_IDENTITY_SECRET"):
        create_app(services.settings.model_copy(update={"inapp_identity_secret": None}), services=services)
    with pytest.raises(StartupError, match="shorter than 32"):
        create_app(services.settings.model_copy(update={"inapp_identity_secret": "short"}), services=services)


@pytest.mark.parametrize("given", [
    {"amazon_client_id": "id", "amazon_client_secret": "secret"},
    {"amazon_client_id": "id"},
    {"amazon_redirect_uri": "https://bot.example.com/oauth/amazon/callback"},
    {"spapi_client_id": "id", "spapi_client_secret": "secret"},
])
def test_a_partial_amazon_configuration_does_not_start(make_services: ServicesFactory,
                                                       given: dict[str, str]) -> None:
    with pytest.raises(StartupError, match="not set|without the Amazon credentials") as refused:
        make_services(None, **given)
    assert "\n" not in str(refused.value)

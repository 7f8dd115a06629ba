"""Credentials: refresh tokens encrypted at rest with rotatable keys, and a deployment with real Amazon settings.

With Amazon configured, links lead to Amazon's own regional pages and Seller Central, the stand-in
is off, and a missing key or SP-API id stops the service at start-up with a message saying what to set.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import insert, select

from bot.amazon.vault import TokenVault, VaultError, new_key
from bot.app import Services, StartupError
from bot.channels.jsonl import ScriptRun
from bot.store.rows import CONNECTIONS
from tests.conftest import ServicesFactory
from tests.fakes.talk import CUSTOMER, click, say

ROOT = Path(__file__).resolve().parent.parent
LIVE = {"amazon_client_id": "amzn1.application-oa2-client.live", "amazon_client_secret": "s3cret",
        "amazon_redirect_uri": "https://bot.example.com/oauth/amazon/callback",
        "spapi_application_id": "amzn1.sp.solution.live"}


def test_a_token_is_unreadable_without_its_key() -> None:
    vault = TokenVault((new_key(),))
    cipher = vault.encrypt("Atzr|refresh")
    assert "Atzr" not in cipher and vault.decrypt(cipher) == "Atzr|refresh"
    with pytest.raises(VaultError, match="cannot be decrypted"):
        TokenVault((new_key(),)).decrypt(cipher)


def test_a_malformed_key_is_refused_with_a_hint() -> None:
    with pytest.raises(VaultError, match="keys new"):
        TokenVault(("not-a-key",))


def _store(services: Services, vault: TokenVault, plain: str) -> None:
    say(services, "hello")
    conversation = services.engine.conversation_id_for(CUSTOMER)
    with services.db.begin() as conn:
        conn.execute(insert(CONNECTIONS).values(
            conversation_id=conversation, org="acme", kind="ads", account_type="vendor", region="EU", profiles=[],
            marketplaces=["DE"], verdict="ok", refresh_token=vault.encrypt(plain), created_at=datetime.now(UTC),
            sync_status="pending", sync_progress=0))


def _rotate(url: str, keys: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "TOKEN_ENCRYPTION_KEYS": keys}
    return subprocess.run([sys.executable, "-m", "bot", "keys", "rotate"], capture_output=True, text=True,
                          cwd=ROOT, timeout=120, env=env)


def test_rotation_moves_every_token_to_the_new_key(make_services: ServicesFactory, database_url: str) -> None:
    old, new = new_key(), new_key()
    services = make_services(token_encryption_keys=old)
    _store(services, TokenVault((old,)), "Atzr|one")
    _store(services, TokenVault((old,)), "Atzr|two")
    done = _rotate(database_url, f"{new},{old}")
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 2" in done.stdout
    with services.db.connect() as conn:
        stored = [row.refresh_token for row in conn.execute(select(CONNECTIONS.c.refresh_token))]
    assert sorted(TokenVault((new,)).decrypt(c) for c in stored) == ["Atzr|one", "Atzr|two"]
    with pytest.raises(VaultError):
        TokenVault((old,)).decrypt(stored[0])


def test_rotation_without_the_old_key_changes_nothing_and_says_so(make_services: ServicesFactory,
                                                                  database_url: str) -> None:
    old = new_key()
    services = make_services(token_encryption_keys=old)
    _store(services, TokenVault((old,)), "Atzr|kept")
    done = _rotate(database_url, new_key())
    assert done.returncode == 2 and "put their old key back" in done.stderr
    with services.db.connect() as conn:
        stored = conn.execute(select(CONNECTIONS.c.refresh_token)).scalar_one()
    assert TokenVault((old,)).decrypt(stored) == "Atzr|kept"


def test_with_amazon_configured_links_lead_to_amazon(make_services: ServicesFactory) -> None:
    services = make_services(None, **LIVE)
    say(services, "hi, we're a seller and want to connect our account")
    click(services, "Yes")
    reply = say(services, "we sell on amazon.co.uk")
    (link,) = [li for m in reply.messages for li in m.links]
    target = urlsplit(link.authorize_url)
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == "https://eu.account.amazon.com/ap/oa"
    assert query["client_id"] == [LIVE["amazon_client_id"]]
    assert query["redirect_uri"] == [LIVE["amazon_redirect_uri"]]
    consent = services.engine.links.consent("UK", "seller", "tok")
    assert consent.startswith("https://sellercentral-europe.amazon.com/apps/authorize/consent?")
    assert "application_id=amzn1.sp.solution.live" in consent and "version=beta" in consent
    vendor = services.engine.links.consent("JP", "vendor", "tok")
    assert vendor.startswith("https://vendorcentral.amazon.co.jp/apps/authorize/consent?")


def test_with_amazon_configured_scripts_cannot_fake_amazon(make_services: ServicesFactory) -> None:
    services = make_services(None, **LIVE)
    out = io.StringIO()
    run = ScriptRun(services, out)
    run.key = CUSTOMER
    lines = ['{"say": "vendor here, we want to connect amazon.de"}', '{"click": "Yes"}',
             '{"amazon": {"outcome": "allow", "profiles": []}}']
    assert run.feed(lines) == 2
    refused = json.loads(out.getvalue().splitlines()[-1])
    assert refused["line"] == 3 and "only the local stand-in" in refused["error"]


@pytest.mark.parametrize(("missing", "says"), [
    ("token_encryption_keys", "TOKEN_ENCRYPTION_KEYS"),
    ("spapi_application_id", "SPAPI_APPLICATION_ID"),
])
def test_a_live_deployment_without_a_key_or_app_id_does_not_start(make_services: ServicesFactory, missing: str,
                                                                  says: str) -> None:
    settings: dict[str, object] = {**LIVE, "token_encryption_keys": new_key(), missing: None}
    with pytest.raises(StartupError, match=says):
        make_services(None, **settings)

"""A question is answered, a statement only remembered: whether a message asks, in customers' languages."""

from __future__ import annotations

import pytest

from bot.understanding.questions import asks


@pytest.mark.parametrize("text", [
    "welche region ist mexiko", "in quale regione è amazon.it", "differenza tra vendor e seller?",
    "cuál es la diferencia entre vendedor y proveedor", "quelle différence entre vendeur tiers et fournisseur",
    "vendiamo ad amazon all'ingrosso, quale tipo scelgo", "hoe lang duurt de sync", "kya mujhe SP-API chahiye",
    "SP-APIの接続は必須ですか", "请问怎么开始", "I chose vendor but should it be seller", "so are we a vendor",
    "can i change the account type", "wrong account type selected, how to change it",
    "Brasil marketplace which region please", "not sure if we're 1P or 3P", "¿somos vendor",
])
def test_these_ask(text: str) -> None:
    assert asks(text)


@pytest.mark.parametrize("text", [
    "we are a vendor", "3P seller US only sp+sb running admin on CM. lets go", "we sell on amazon.de and amazon.fr",
    "Vendor, we sell on .de and .fr, ads running for years, I'm admin", "we do FBA", "our store is in japan",
    "I need you to connect our account", "the problem is that the page is blank", "we'd like to do it now",
    "wir sind Verkäufer auf amazon.de", "somos vendedores en amazon.es", "nous sommes vendeur sur amazon.fr",
    "我们是卖家", "seller", "DE, FR, IT, ES", "we are both vendor and seller",
])
def test_these_only_state(text: str) -> None:
    assert not asks(text)

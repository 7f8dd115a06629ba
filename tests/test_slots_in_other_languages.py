"""What customers state in their own languages fills the journey as English does (bot/understanding/slots.py)."""

from __future__ import annotations

import pytest

from bot.understanding.slots import extract_admin, extract_advertised, extract_slots


@pytest.mark.parametrize(("text", "kind"), [
    ("wir sind Verkäufer auf amazon.de", "seller"), ("somos proveedores de amazon", "vendor"),
    ("siamo un fornitore", "vendor"), ("nous sommes vendeur sur amazon.fr", "seller"),
    ("我们是卖家", "seller"), ("供应商账号", "vendor"), ("セラーです", "seller"), ("wij zijn leverancier", "vendor"),
    ("somos fornecedores", "vendor"), ("vendedor terceiro no amazon.com.br", "seller"),
])
def test_the_account_type_in_other_languages(text: str, kind: str) -> None:
    assert extract_slots(text).account_type == kind


@pytest.mark.parametrize(("text", "answer"), [
    ("sì, entrambe le cose", "yes"), ("sim, tudo certo", "yes"), ("haan ji", "yes"), ("はい、大丈夫です", "yes"),
    ("nein, noch nicht", "no"), ("non", "no"), ("nee", "no"), ("nahi", "no"), ("não", "no"), ("いいえ", "no"),
    ("none of them", None), ("nonsense", None),
])
def test_yes_and_no_in_other_languages(text: str, answer: str | None) -> None:
    assert extract_slots(text).yes_no == answer


@pytest.mark.parametrize(("text", "running"), [
    ("campagne attive e sono amministratore", True), ("haan campaigns chal rahe hain", True),
    ("les campagnes tournent", True), ("wir haben Kampagnen geschaltet", True), ("campanhas ativas", True),
    ("zero campaigns running", False), ("keine Kampagnen bisher", False), ("sin campañas todavía", False),
    ("we advertised in 2022 but nothing since", False), ("it says no advertising profiles after I log in", None),
])
def test_campaigns_running_or_not(text: str, running: bool | None) -> None:
    assert extract_advertised(text) is running


@pytest.mark.parametrize("text", ["sono amministratore", "sou admin", "ik ben admin", "main admin hoon",
                                  "they added me as admin ages ago", "I have the admin rights"])
def test_admin_said_in_passing(text: str) -> None:
    assert extract_admin(text) is True

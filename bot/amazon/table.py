"""What `python -m bot regions` shows: the marketplaces asked for, as JSON, a narrow table or a wide one.

The narrow table (the default) fits a terminal of 100 columns: country, marketplace id, region and
the host a customer signs in at; `--wide` adds every endpoint. Unconfirmed rows are marked in
either, their notes printed under the table.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.amazon.marketplaces import MARKETPLACES, Marketplace
from bot.understanding.markets import extract_marketplaces

NARROW = ("code", "name", "marketplace_id", "region", "sign_in_host", "confirmed")
WIDE = ("code", "name", "marketplace_id", "region", "authorization_url", "token_url", "ads_host", "sp_api_host",
        "seller_central", "vendor_central", "confirmed")
_HEADINGS = {"name": "country", "marketplace_id": "marketplace", "sign_in_host": "sign-in host"}


class UnknownCountry(ValueError):
    """A filter term names no marketplace; the message says what is accepted."""


def row(m: Marketplace) -> dict[str, Any]:
    return {"code": m.code, "name": m.name, "marketplace_id": m.marketplace_id, "region": m.region.value,
            "authorization_url": m.endpoints.authorization_url, "token_url": m.endpoints.token_url,
            "ads_host": m.endpoints.ads_host, "sp_api_host": m.endpoints.sp_api_host,
            "seller_central": m.seller_central, "vendor_central": m.vendor_central,
            "confirmed": m.confirmed, "note": m.note}


def select(terms: list[str]) -> list[Marketplace]:
    """The marketplaces the terms name (code "DE", name "Germany", domain "amazon.de"), in table order."""
    if not terms:
        return list(MARKETPLACES)
    wanted: set[str] = set()
    for term in terms:
        codes = _codes(term)
        if not codes:
            raise UnknownCountry(f"no marketplace matches {term!r}: give a country code (DE), a name (Germany) "
                                 "or a domain (amazon.de); `python -m bot regions` lists them all")
        wanted |= codes
    return [m for m in MARKETPLACES if m.code in wanted]


def _codes(term: str) -> set[str]:
    cleaned = term.strip()
    code = "UK" if cleaned.upper() == "GB" else cleaned.upper()
    by_code = {m.code for m in MARKETPLACES if m.code == code}
    by_name = {m.code for m in MARKETPLACES if m.name.casefold() == cleaned.casefold()}
    # Domains, URLs and misspelt names: read the way the bot reads a customer's "we sell on amazon.de".
    return by_code or by_name or (set(extract_marketplaces(cleaned)) & {m.code for m in MARKETPLACES})


def table(chosen: list[Marketplace], *, wide: bool) -> list[str]:
    """The table's lines (header first), then one line per unconfirmed row saying what is unsure."""
    columns = WIDE if wide else NARROW
    rows = [row(m) for m in chosen]
    cells = [[_cell(r, c) for c in columns] for r in rows]
    headings = [_HEADINGS.get(c, c) for c in columns]
    widths = [max(len(h), *(len(line[i]) for line in cells)) for i, h in enumerate(headings)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
             for line in [headings, *cells]]
    notes = [f"NO: {r['code']} ({r['name']}) unconfirmed: {r['note']}" for r in rows if not r["confirmed"]]
    return lines + ([""] + notes if notes else [])


def _cell(r: dict[str, Any], column: str) -> str:
    if column == "confirmed":
        return "yes" if r["confirmed"] else "NO (below)"
    if column == "sign_in_host":
        return urlsplit(str(r["authorization_url"])).hostname or str(r["authorization_url"])
    return str(r[column])

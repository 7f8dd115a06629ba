"""Every Amazon marketplace the platform can connect, in one table.

Facts from shared/domain/amazon-oauth.md (Amazon Ads API overview, SP-API endpoints and
marketplace ids). Rows whose Ads support or consent domain the sources disagree on carry
`confirmed=False`, so callers can say so instead of guessing silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Region(StrEnum):
    NA = "NA"
    EU = "EU"
    FE = "FE"


REGION_NAMES: dict[Region, str] = {
    Region.NA: "North America",
    Region.EU: "Europe",
    Region.FE: "Far East",
}


@dataclass(frozen=True)
class RegionEndpoints:
    authorization_url: str
    token_url: str
    ads_host: str
    sp_api_host: str


ENDPOINTS: dict[Region, RegionEndpoints] = {
    Region.NA: RegionEndpoints(
        "https://www.amazon.com/ap/oa",
        "https://api.amazon.com/auth/o2/token",
        "https://advertising-api.amazon.com",
        "https://sellingpartnerapi-na.amazon.com",
    ),
    Region.EU: RegionEndpoints(
        "https://eu.account.amazon.com/ap/oa",
        "https://api.amazon.co.uk/auth/o2/token",
        "https://advertising-api-eu.amazon.com",
        "https://sellingpartnerapi-eu.amazon.com",
    ),
    Region.FE: RegionEndpoints(
        "https://apac.account.amazon.com/ap/oa",
        "https://api.amazon.co.jp/auth/o2/token",
        "https://advertising-api-fe.amazon.com",
        "https://sellingpartnerapi-fe.amazon.com",
    ),
}


@dataclass(frozen=True)
class Marketplace:
    code: str
    name: str
    marketplace_id: str
    region: Region
    seller_central: str
    vendor_central: str
    confirmed: bool = True
    note: str = ""

    @property
    def endpoints(self) -> RegionEndpoints:
        return ENDPOINTS[self.region]


_SC_EU = "https://sellercentral-europe.amazon.com"

MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace("US", "United States", "ATVPDKIKX0DER", Region.NA,
                "https://sellercentral.amazon.com", "https://vendorcentral.amazon.com"),
    Marketplace("CA", "Canada", "A2EUQ1WTGCTBG2", Region.NA,
                "https://sellercentral.amazon.ca", "https://vendorcentral.amazon.ca"),
    Marketplace("MX", "Mexico", "A1AM78C64UM0Y8", Region.NA,
                "https://sellercentral.amazon.com.mx", "https://vendorcentral.amazon.com.mx"),
    Marketplace("BR", "Brazil", "A2Q3Y263D00KWC", Region.NA,
                "https://sellercentral.amazon.com.br", "https://vendorcentral.amazon.com.br"),
    Marketplace("UK", "United Kingdom", "A1F83G8C2ARO7P", Region.EU,
                _SC_EU, "https://vendorcentral.amazon.co.uk"),
    Marketplace("DE", "Germany", "A1PA6795UKMFR9", Region.EU, _SC_EU, "https://vendorcentral.amazon.de"),
    Marketplace("FR", "France", "A13V1IB3VIYZZH", Region.EU, _SC_EU, "https://vendorcentral.amazon.fr"),
    Marketplace("IT", "Italy", "APJ6JRA9NG5V4", Region.EU, _SC_EU, "https://vendorcentral.amazon.it"),
    Marketplace("ES", "Spain", "A1RKKUPIHCS9HS", Region.EU, _SC_EU, "https://vendorcentral.amazon.es"),
    Marketplace("NL", "Netherlands", "A1805IZSGTT6HS", Region.EU,
                "https://sellercentral.amazon.nl", "https://vendorcentral.amazon.nl"),
    Marketplace("SE", "Sweden", "A2NODRKZP88ZB9", Region.EU,
                "https://sellercentral.amazon.se", "https://vendorcentral.amazon.se"),
    Marketplace("PL", "Poland", "A1C3SOZRARQ6R3", Region.EU,
                "https://sellercentral.amazon.pl", "https://vendorcentral.amazon.pl"),
    Marketplace("BE", "Belgium", "AMEN7PMS3EDWL", Region.EU,
                "https://sellercentral.amazon.com.be", "https://vendorcentral.amazon.com.be"),
    Marketplace("TR", "Turkey", "A33AVAJ2PDY3EV", Region.EU,
                "https://sellercentral.amazon.com.tr", "https://vendorcentral.amazon.com.tr"),
    Marketplace("EG", "Egypt", "ARBP9OOSHTCHU", Region.EU,
                "https://sellercentral.amazon.eg", "https://vendorcentral.amazon.me"),
    Marketplace("SA", "Saudi Arabia", "A17E79C6D8DWNP", Region.EU,
                "https://sellercentral.amazon.sa", "https://vendorcentral.amazon.me", confirmed=False,
                note="Seller Central domain: sources disagree (.sa or .com.sa)"),
    Marketplace("AE", "United Arab Emirates", "A2VIGQ35RCS4UG", Region.EU,
                "https://sellercentral.amazon.ae", "https://vendorcentral.amazon.me"),
    Marketplace("IN", "India", "A21TJRUUN4KGV", Region.EU,
                "https://sellercentral.amazon.in", "https://vendorcentral.amazon.in"),
    Marketplace("ZA", "South Africa", "AE08WJ6YKNBMC", Region.EU,
                "https://sellercentral.amazon.co.za", "https://vendorcentral.amazon.co.za"),
    Marketplace("IE", "Ireland", "A28R8C7NBKEWEA", Region.EU,
                _SC_EU, "https://vendorcentral.amazon.ie", confirmed=False,
                note="Amazon Ads support and Seller Central domain unconfirmed"),
    Marketplace("JP", "Japan", "A1VC38T7YXB528", Region.FE,
                "https://sellercentral.amazon.co.jp", "https://vendorcentral.amazon.co.jp"),
    Marketplace("AU", "Australia", "A39IBJ37TRP1C6", Region.FE,
                "https://sellercentral.amazon.com.au", "https://vendorcentral.amazon.com.au"),
    Marketplace("SG", "Singapore", "A19VAU5U5O7RUS", Region.FE,
                "https://sellercentral.amazon.sg", "https://vendorcentral.amazon.com.sg"),
)

_BY_CODE: dict[str, Marketplace] = {m.code: m for m in MARKETPLACES}


def marketplace(code: str) -> Marketplace:
    """The marketplace for a country code; GB is Amazon's other spelling of UK."""
    code = code.upper()
    return _BY_CODE["UK" if code == "GB" else code]


def regions_of(codes: tuple[str, ...] | list[str]) -> list[Region]:
    """The Ads regions the marketplaces belong to, in the order first mentioned."""
    seen: list[Region] = []
    for code in codes:
        region = marketplace(code).region
        if region not in seen:
            seen.append(region)
    return seen

"""`python -m bot bench amazon`: how fast links are made and how long a callback takes.

- links/s: minting a sign-in link (state token, PKCE verifier and challenge, Amazon's URL), and
  the web app answering /connect/{token} with its redirect over HTTP.
- callback: state claim + code exchange + /v2/profiles on the three regional hosts + the
  conversation's turn, against the stand-in running as an HTTP server whose profile endpoints
  answer in 40, 80 and 120 ms. The three calls run concurrently, so a callback should take about
  the slowest one (120 ms) plus the exchange, not the sum (240 ms).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from bot.amazon.callback import CallbackHandler
from bot.amazon.client import AmazonApi
from bot.amazon.links import LinkBuilder, random_tokens
from bot.amazon.sandbox.app import create_sandbox
from bot.app import Services, build_services
from bot.bench.figures import cuts, elapsed, per_second
from bot.clock import SystemClock
from bot.config import load_settings
from bot.loopback import LocalServer, Rerouted
from bot.types import Channel, ConversationKey, Inbound, InboundKind
from bot.web import create_app

PUBLIC = "http://connectbot.bench"
PROFILE_DELAYS = {"NA": 0.04, "EU": 0.08, "FE": 0.12}


def _cuts(samples: list[float]) -> str:
    q = cuts(samples)
    return f"p50 {q.p50:6.1f} ms  p99 {q.p99:6.1f} ms"


def _to_link(services: Services, n: int) -> str:
    key = ConversationKey(Channel.WEBCHAT, "bench", f"u{n}")
    for i, (kind, text) in enumerate([(InboundKind.SAY, "hi, we're a vendor and want to connect"),
                                      (InboundKind.CLICK, "Yes"), (InboundKind.SAY, "we sell on amazon.de")]):
        services.engine.handle(key, Inbound(kind, f"bench:{n}:{i}", text=text))
    attempt = services.engine.pending_link(services.engine.conversation_id_for(key) or 0)
    assert attempt is not None
    return attempt.state_token


def run_amazon_bench(links: int, callbacks: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        clock = SystemClock()
        sandbox = create_sandbox(clock, redirect_uris=(f"{PUBLIC}/oauth/amazon/callback",))
        for region, delay in PROFILE_DELAYS.items():
            sandbox.faults.profile_delay[region] = delay
        amazon = LocalServer(sandbox.app)
        origin = amazon.start()
        services = build_services(load_settings(database_url=f"sqlite:///{Path(tmp) / 'bench.db'}",
                                                base_url=PUBLIC, amazon_sandbox_url=origin,
                                                token_key_file=str(Path(tmp) / "token.key")), clock=clock)
        builder = LinkBuilder(services.settings)
        start = time.perf_counter()
        for _ in range(links):
            token = random_tokens()
            builder.signin("EU", token, random_tokens() + random_tokens())
        minted = per_second(links, elapsed(start))
        print(f"links minted      {minted:9.0f} links/s (state token + PKCE S256 + Amazon URL)")

        app = LocalServer(create_app(services.settings, services, run_timers=False))
        routes = {PUBLIC: app.start()}
        tokens = [_to_link(services, n) for n in range(callbacks)]
        with httpx.Client(transport=Rerouted(routes)) as http:
            start = time.perf_counter()
            for token in tokens:
                opened = http.get(f"{PUBLIC}/connect/{token}")
                assert opened.status_code == 302
            served = per_second(len(tokens), elapsed(start))
            print(f"links opened      {served:9.0f} redirects/s (/connect/{{token}} over HTTP, one client)")
            queries = []
            for token in tokens:
                consent = httpx.URL(http.get(f"{PUBLIC}/connect/{token}").headers["location"])
                form = {**dict(consent.params), "outcome": "allow", "profiles": "DE:vendor US:vendor"}
                decided = http.post(consent.copy_with(query=None), data=form)
                queries.append(dict(httpx.URL(decided.headers["location"]).params))
        handler = CallbackHandler(services.engine, AmazonApi(services.settings), services.vault)

        async def time_callbacks() -> list[float]:
            spent = []
            for query in queries:
                t0 = time.perf_counter()
                page = await handler.handle(query)
                spent.append(elapsed(t0) * 1000)
                assert page.name == "callback_ok", page
            return spent

        spent = asyncio.run(time_callbacks())
        print(f"callback          {_cuts(spent)}  ({callbacks} callbacks: state check + exchange + "
              f"3 profile calls + turn)")
        hosts = ", ".join(f"{r} {d * 1000:.0f} ms" for r, d in PROFILE_DELAYS.items())
        print(f"profile hosts     answer in {hosts}: slowest {max(PROFILE_DELAYS.values()) * 1000:.0f} ms, "
              f"sum {sum(PROFILE_DELAYS.values()) * 1000:.0f} ms")
        app.stop()
        amazon.stop()
        services.db.dispose()
    return 0

"""A stand-in's HTTP handler served on a free local port in a thread, for as long as a `with` lasts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serving_on_a_free_port(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Yields the server's origin (http://127.0.0.1:PORT); shuts it down and joins its thread after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

"""A TCP proxy in front of PostgreSQL that can drop every connection: the database restarting, as workers see it.

`restart()` closes every open connection (what a server restart does to its clients) and refuses
new ones for a moment; then connections go through again.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class TcpProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.open: list[socket.socket] = []
        self.refuse_until = 0.0
        self.restarts = 0
        self.closed = False

    def serve(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if time.monotonic() < self.refuse_until:
                client.close()  # the server is still down
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def restart(self, down_seconds: float = 0.5) -> None:
        with self.lock:
            self.refuse_until = time.monotonic() + down_seconds
            dropped, self.open = self.open, []
            self.restarts += 1
        for sock in dropped:
            _close(sock)

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        self.restart(0)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@contextmanager
def running_proxy(host: str = "localhost", port: int = 5432) -> Iterator[TcpProxy]:
    proxy = TcpProxy((host, port))
    thread = threading.Thread(target=proxy.serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.close()
        thread.join(timeout=5)

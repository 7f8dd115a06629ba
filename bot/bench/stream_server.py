"""The web process of `bench stream`, run as a child so its memory is measured apart from the clients'.

`python -m bot.bench.stream_server`: settings from the environment, uvicorn on 127.0.0.1 and a
free port, which it prints on its first stdout line.
"""

from __future__ import annotations

import socket


def main() -> None:
    import uvicorn

    from bot.config import load_settings
    from bot.web import create_app

    settings = load_settings()
    app = create_app(settings)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)  # noqa: T201  the parent reads the port from here
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2,
                            backlog=4096)
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main()

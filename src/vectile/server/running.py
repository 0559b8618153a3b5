"""Running the app with uvicorn: in the foreground (``vectile serve``) or in a thread (tests)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import uvicorn

__all__ = ["serve", "serve_in_thread"]


def _config(app: Any, **options: Any) -> uvicorn.Config:
    # No proxy headers: the server trusts nothing the client says about itself.
    return uvicorn.Config(app, proxy_headers=False, server_header=False, timeout_keep_alive=5, **options)


def serve(app: Any, host: str, port: int, log_level: str = "info") -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM stop it cleanly)."""
    uvicorn.Server(_config(app, host=host, port=port, log_level=log_level)).run()


@contextlib.contextmanager
def serve_in_thread(app: Any, host: str = "127.0.0.1", log_level: str = "warning") -> Iterator[str]:
    """Serve ``app`` on a free port of ``host`` in a background thread; yields the base URL.

    >>> with serve_in_thread(create_app()) as url:   # doctest: +SKIP
    ...     httpx.get(f"{url}/healthz")
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(_config(app, log_level=log_level))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="vectile-serve", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()

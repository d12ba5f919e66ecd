"""Run an ASGI app (a fake network, the sandbox) on a real loopback socket for a test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn

from tests.support.services import free_port

SERVER_START_TIMEOUT_S = 15.0
HttpProtocol = Literal["auto", "h11", "httptools"]
Lifespan = Literal["auto", "on", "off"]


@contextmanager
def serving(
    app: Any, *, http: HttpProtocol = "auto", port: int | None = None, lifespan: Lifespan = "auto"
) -> Iterator[str]:
    """Run `app` with uvicorn on a 127.0.0.1 port (`port`, else a free one) in a thread; yields
    its base URL. `lifespan="off"` serves an app whose lifespan already runs elsewhere (the test
    app, reached over a real socket by a fake network fetching its media)."""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http=http,
        lifespan=lifespan,
        log_level="warning",
        # A timeout-after-apply request may still be hanging when the test ends.
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start the app")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)

"""The baseline for PostWizard's request overhead: a bare FastAPI JSON endpoint.

Served by uvicorn with the same settings as `postwizard serve`, it shows what the framework
and server cost on this machine, so `GET /api/v1/me` can be judged as a ratio to it.

    python bench/bare_app.py --port 8001
"""

from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/me")
async def me() -> dict[str, str]:
    return {"id": "x"}


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the bare baseline app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    options = parser.parse_args()
    # Keep in step with `postwizard serve` (src/postwizard/cli/main.py) so the ratio measures
    # PostWizard's own work, not different server settings.
    uvicorn.run(
        app,
        host=options.host,
        port=options.port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )


if __name__ == "__main__":
    main()

"""Static files of the built front end, with `index.html` as the fallback for client routes."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException

DIST_DIR = Path(__file__).parent / "dist"
IMMUTABLE_PREFIX = "_app/immutable/"

NOT_BUILT_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>PostWizard</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>PostWizard is running, but its web interface is not built</h1>
<p>Run <code>make run</code> from the source checkout (it builds the front end), or
<code>npm ci &amp;&amp; npm run build</code> in <code>frontend/</code>.
The API is available at <a href="/api/docs">/api/docs</a>.</p></body></html>"""


def spa_router(dist_dir: Path = DIST_DIR) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    root = dist_dir.resolve()

    @router.get("/{path:path}")
    async def spa(path: str) -> Response:
        if path.startswith("api/") or path == "api":
            raise HTTPException(404)
        index = root / "index.html"
        if not index.exists():
            return HTMLResponse(NOT_BUILT_PAGE, status_code=503)
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            cache = (
                "public, max-age=31536000, immutable"
                if path.startswith(IMMUTABLE_PREFIX)
                else "no-cache"
            )
            return FileResponse(candidate, headers={"Cache-Control": cache})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    return router

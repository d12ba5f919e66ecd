"""The front end's API client is generated from the app's OpenAPI; this fails when it is stale."""

from __future__ import annotations

import json
from pathlib import Path

from postwizard.app import create_app
from postwizard.config import Settings

COMMITTED_SPEC = Path(__file__).parent.parent / "frontend" / "openapi.json"


def test_committed_openapi_matches_the_app(tmp_path: Path) -> None:
    current = create_app(Settings(data_dir=tmp_path, secret_key="s" * 40)).openapi()
    committed = json.loads(COMMITTED_SPEC.read_text())
    assert committed == json.loads(json.dumps(current)), (
        "frontend/openapi.json is stale: run `make api-client` and commit the result"
    )


def test_every_api_error_response_uses_the_error_shape(tmp_path: Path) -> None:
    spec = create_app(Settings(data_dir=tmp_path, secret_key="s" * 40)).openapi()
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, operation in operations.items():
            error = operation["responses"]["4XX"]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorResponse"}, f"{method} {path}"
            assert "422" not in operation["responses"]

"""What every endpoint shares: error rendering, pagination, request limits."""

# Each router carries the full prefix itself, so a route's `path` is the URL template that
# metrics and logs report (FastAPI keeps included routes' own paths).
API_PREFIX = "/api/v1"

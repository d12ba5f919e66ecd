# syntax=docker/dockerfile:1
# PostWizard container image: `docker build -t postwizard .` (see docs/deploy.md).
#   stage 1 `frontend`: builds the Svelte SPA with Node (npm ci + vite build)
#   stage 2 `build`:    installs the Python package, with the built SPA inside, into a venv
#   stage 3 `runtime`:  slim Python, the venv only, a non-root user; `postwizard serve` by default
ARG NODE_VERSION=20
ARG PYTHON_VERSION=3.11

FROM node:${NODE_VERSION}-bookworm-slim AS frontend
WORKDIR /build/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
# svelte.config.js writes the build to ../src/postwizard/web/dist
RUN npm run build

FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /build
RUN python -m venv /opt/postwizard
COPY pyproject.toml README.md ./
COPY src/ src/
COPY --from=frontend /build/src/postwizard/web/dist/ src/postwizard/web/dist/
RUN /opt/postwizard/bin/pip install . \
    && /opt/postwizard/bin/python -c "import importlib.resources as r; assert r.files('postwizard').joinpath('web/dist/index.html').is_file()"

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# postgresql-client: pg_dump/pg_restore for `postwizard backup`/`restore` on PostgreSQL (Debian 12's
# are version 15, as compose's server). ffmpeg reads video metadata (--build-arg WITH_FFMPEG=false
# leaves it out for a smaller image).
ARG WITH_FFMPEG=true
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
        $([ "$WITH_FFMPEG" = "true" ] && echo ffmpeg) \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 postwizard \
    && useradd --system --uid 10001 --gid postwizard --home-dir /var/lib/postwizard \
        --shell /usr/sbin/nologin postwizard \
    && install -d -o postwizard -g postwizard -m 0700 \
        /var/lib/postwizard /var/lib/postwizard/data /var/lib/postwizard/data/media
COPY --from=build /opt/postwizard /opt/postwizard
# Procfile and app.json sit in the working directory for Heroku-style platforms (Dokku reads them there).
COPY Procfile app.json /var/lib/postwizard/

ENV PATH=/opt/postwizard/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    POSTWIZARD_HOST=0.0.0.0 \
    POSTWIZARD_PORT=8000 \
    POSTWIZARD_DATA_DIR=/var/lib/postwizard/data \
    POSTWIZARD_LOG_FORMAT=json

USER postwizard:postwizard
WORKDIR /var/lib/postwizard
# The database (SQLite), the generated secret key and the sandbox store; uploaded media.
VOLUME ["/var/lib/postwizard/data", "/var/lib/postwizard/data/media"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('POSTWIZARD_PORT', '8000')}/healthz\", timeout=4)"]

CMD ["postwizard", "serve"]

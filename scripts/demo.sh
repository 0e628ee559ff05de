#!/usr/bin/env bash
# Install and start the demo: SQLite, the in-memory channel layer, users alice/alice and bob/bob,
# daphne on http://127.0.0.1:8000/ (static files served by whitenoise). Ctrl-C stops it.
# Set REDIS_URL and/or DATABASE_URL first to run it on Redis and PostgreSQL instead.
set -euo pipefail
source "$(dirname "$0")/_setup.sh" demo
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py seed_demo
echo "Open http://127.0.0.1:${PORT:-8000}/ and log in as alice/alice (and bob/bob in a private window); comment on /tickets/1/."
PYTHONPATH=site exec .venv/bin/daphne -b 127.0.0.1 -p "${PORT:-8000}" demo.asgi:application

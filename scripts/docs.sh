#!/usr/bin/env bash
# Build the documentation (docs/, Sphinx) with warnings as errors and nitpicky references:
#   scripts/docs.sh          build into docs/_build/html
#   scripts/docs.sh serve    build, then serve it at http://127.0.0.1:${DOCS_PORT:-8001}/ (Ctrl-C stops)
# Needs the docs extra (included in the test extra): .venv/bin/pip install -e ".[docs]"
set -euo pipefail
cd "$(dirname "$0")/.."
SPHINX=${SPHINX:-.venv/bin/sphinx-build}
if [ ! -x "$SPHINX" ]; then
  echo "sphinx-build not found: .venv/bin/pip install -e '.[docs]' (or run scripts/test.sh once)" >&2
  exit 1
fi
"$SPHINX" -W --keep-going -n -b html docs docs/_build/html
if [ "${1:-}" = serve ]; then
  port=${DOCS_PORT:-8001}
  echo "Serving docs/_build/html at http://127.0.0.1:$port/"
  exec .venv/bin/python -m http.server "$port" --bind 127.0.0.1 --directory docs/_build/html
fi

#!/usr/bin/env bash
# Install everything the tests need (Python packages, Debian's chromium, redis-server and gettext when missing),
# then run ruff and every test, browser tests included. Extra arguments go to pytest, e.g.
#   scripts/test.sh e2e            only the browser tests
#   scripts/test.sh -k read        tests whose name contains "read"
#   TEST_WORKERS=0 scripts/test.sh  in one process (default: one pytest-xdist worker per core)
# DATABASE_URL / REDIS_URL, when set, run the suite on PostgreSQL / that Redis instead of SQLite and a
# private redis-server. Failed browser tests leave trace, screenshot and server log in e2e-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
# HAProxy: tests/test_chaos.py puts two server processes behind it, as bench/chaos.py does.
command -v haproxy >/dev/null || missing+=(haproxy)
# GNU gettext: tests/test_locale.py runs makemessages (xgettext) to check the catalogues are up to date.
{ command -v msgfmt && command -v xgettext; } >/dev/null || missing+=(gettext)
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
  echo "Installing ${missing[*]} from Debian's packages..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

source scripts/_setup.sh test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
rm -rf e2e-artifacts
# One pytest-xdist worker per core (TEST_WORKERS=0: none, all in one process); each worker has its own
# daphne, Redis key space, database and Chromium.
exec .venv/bin/python -m pytest -n "${TEST_WORKERS:-auto}" "$@"

#!/usr/bin/env bash
# The support matrix (noxfile.py): unit tests on every Python x Django pair, browser tests on the newest pair and
# on Django 5.2 LTS. Arguments go to nox, e.g.
#   scripts/matrix.sh                     everything (about 15 minutes once installed)
#   scripts/matrix.sh -s tests            the unit tests on every pair
#   scripts/matrix.sh -s "tests-3.13(django='6.1')" -- -k consumers
# Interpreters: python3.11, python3.12 and python3.13 from PATH, else from pyenv's versions.
set -euo pipefail
cd "$(dirname "$0")/.."

bin="$PWD/.nox-bin"
mkdir -p "$bin"
root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for version in 3.11 3.12 3.13; do
  if ! "python$version" --version >/dev/null 2>&1; then
    for candidate in "$root"/versions/"$version".*/bin/"python$version"; do
      [ -x "$candidate" ] && ln -sf "$candidate" "$bin/python$version" && break
    done
  fi
done
export PATH="$bin:$PATH"

source scripts/_setup.sh test
exec .venv/bin/nox "$@"

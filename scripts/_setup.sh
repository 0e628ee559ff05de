# Shared by scripts/demo.sh and scripts/test.sh: make .venv and install the project into it.
# Usage: source scripts/_setup.sh EXTRAS   (EXTRAS: demo or test)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --editable ".[$1]"

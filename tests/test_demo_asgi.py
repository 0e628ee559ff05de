"""The demo's ASGI entry point, as daphne loads it in a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_full_garbage_collections_skip_the_start_up_objects() -> None:
    # A fresh process: the test runner's own objects would blur what the module froze.
    code = "import gc, demo.asgi; print(gc.get_freeze_count(), callable(demo.asgi.application))"
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'site'}{os.pathsep}{ROOT}", "DJANGO_SETTINGS_MODULE": "demo.settings"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    frozen, app = out.stdout.split()
    assert app == "True"
    # Django and the app alone are tens of thousands of objects (85,223 with the bench settings).
    assert int(frozen) > 20_000

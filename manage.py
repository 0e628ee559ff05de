#!/usr/bin/env python
"""Django's command-line utility for the demo project in site/ (importable as ``demo``)."""

import os
import sys
from pathlib import Path

# site/ is a plain folder, not a package: Python's own ``site`` module would shadow it. Its contents are
# importable once site/ is on the path, as django-debug-toolbar's example/ project does.
sys.path.insert(0, str(Path(__file__).resolve().parent / "site"))

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

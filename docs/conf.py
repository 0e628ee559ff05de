"""Sphinx configuration: ``scripts/docs.sh`` builds the site (warnings are errors, nitpicky).

Django is set up with the unit tests' settings so autodoc can import the app and its models.
No intersphinx: the build runs offline, so references into Django's and Python's docs are not resolved (see
``nitpick_ignore_regex``); everything of this project's own must resolve.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "docs" / "_ext", ROOT / "site", ROOT):
    sys.path.insert(0, str(path))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from importlib.metadata import version as _version  # noqa: E402

project = "django-htmx-notification-bar"
author = "The django-htmx-notification-bar authors"
copyright = "the django-htmx-notification-bar authors"
release = _version("django-htmx-notification-bar")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "notifications_docs",  # docs/_ext: settings, checks and partials tables generated from the code
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
# Code-like text (hints such as CHANNEL_LAYERS['default'], check --deploy) keeps its quotes and dashes.
smartquotes = False
# The README links into the docs; the docs never include the README.
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_typehints = "description"
autodoc_typehints_description_target = "all"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
autodoc_default_options = {"show-inheritance": False}

nitpicky = True
# Offline build: no intersphinx, so names from Django, Channels and the standard library cannot be linked.
# Everything of this project's own must resolve (a broken reference to it fails the build).
nitpick_ignore_regex = [
    (r"py:.*", r"(django|channels|asgiref|datetime|collections\.abc|typing)(\..*)?"),
    (r"py:.*", r"(AbstractBaseUser|Model|QuerySet|HttpRequest|HttpResponse|Unpack|EmailMultiAlternatives)"),
    # Type variables and aliases of the app's signatures.
    (r"py:.*", r"(P|R|UserPk|Recipients|notifications\.web\.visits\.[VM])"),
]

html_theme = "furo"
html_title = f"django-htmx-notification-bar {release}"
html_static_path = ["_static"]
html_css_files = ["notifications-docs.css"]
html_theme_options = {"source_directory": "docs/"}

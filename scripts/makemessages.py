"""Extract the app's translatable strings into its catalogues, notifications/locale/<lang>/LC_MESSAGES/django.po.

    .venv/bin/python scripts/makemessages.py             update the catalogues (translations are kept)
    .venv/bin/python scripts/makemessages.py --compile   ... then check them and compile the .mo files
    .venv/bin/python scripts/makemessages.py --into DIR  write the catalogues under DIR instead (tests/test_locale.py
                                                         compares them with the committed ones)

The partials live outside the app (templates/partials/, mapped into the package only when the wheel is built), so
``makemessages`` run inside notifications/ would not see them. This script copies the app into a temporary folder
laid out as in the wheel (the partials in notifications/templates/partials/), together with the current
catalogues, runs ``makemessages`` there and writes the catalogues back with a complete header (Language,
Plural-Forms, no "fuzzy" flag). Nothing in the working tree is touched but the catalogues. A catalogue whose only
change would be its POT-Creation-Date is left as it is, so a run on unchanged sources changes nothing.
Needs GNU gettext (Debian: apt-get install gettext).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "notifications"
PARTIALS = ROOT / "templates" / "partials"
PROJECT = "django-htmx-notification-bar"

#: The languages the app ships: code -> (name, Plural-Forms).
LANGUAGES = {
    "de": ("German", "nplurals=2; plural=(n != 1);"),
    "fr": ("French", "nplurals=2; plural=(n > 1);"),
    "ar": (
        "Arabic",
        "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5);",
    ),
}

#: The options of every run: no source locations and no obsolete entries (short diffs), no line wrapping.
MAKEMESSAGES = [
    *(f"--locale={code}" for code in LANGUAGES),
    "--domain=django",
    "--extension=html,txt,py",
    "--no-location",
    "--no-obsolete",
    "--no-wrap",
]

HEADER = """\
# {name} translation of {project}.
# This file is distributed under the same license as the {project} package.
#
msgid ""
msgstr ""
"Project-Id-Version: {project}\\n"
"Report-Msgid-Bugs-To: \\n"
"POT-Creation-Date: {created}\\n"
"PO-Revision-Date: {revised}\\n"
"Last-Translator: {project} contributors\\n"
"Language-Team: {name}\\n"
"Language: {code}\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: {plural_forms}\\n"
"""


def catalogue(locale_dir: Path, code: str) -> Path:
    return locale_dir / code / "LC_MESSAGES" / "django.po"


def _header_field(text: str, field: str) -> str | None:
    match = re.search(rf'^"{re.escape(field)}: (.*)\\n"$', text, re.MULTILINE)
    return match[1] if match else None


def with_header(text: str, code: str, previous: str | None) -> str:
    """``text`` (makemessages' output) with the header replaced by a complete one for ``code``; the revision date
    of ``previous`` (the catalogue so far) is kept."""
    header, sep, entries = text.partition("\n\n")
    created = _header_field(header, "POT-Creation-Date") or ""
    revised = previous and _header_field(previous, "PO-Revision-Date")
    if not revised or revised.startswith("YEAR"):
        revised = created
    name, plural_forms = LANGUAGES[code]
    fields = {"project": PROJECT, "code": code, "name": name, "plural_forms": plural_forms}
    return HEADER.format(**fields, created=created, revised=revised).rstrip("\n") + sep + entries


def _without_creation_date(text: str) -> str:
    return re.sub(r'^"POT-Creation-Date: .*\\n"$', "", text, count=1, flags=re.MULTILINE)


def make_messages(into: Path) -> list[Path]:
    """Run makemessages on a copy of the app laid out as in the wheel, starting from the catalogues under ``into``
    (when there are any), and write the results there. Returns the catalogues written or left unchanged."""
    if not shutil.which("xgettext") or not shutil.which("msgmerge"):
        sys.exit("makemessages needs GNU gettext (xgettext, msgmerge): apt-get install gettext")
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "notifications"
        shutil.copytree(APP, app, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo", "locale", "partials"))
        shutil.copytree(PARTIALS, app / "templates" / "partials")
        for code in LANGUAGES:
            target = catalogue(app / "locale", code)
            target.parent.mkdir(parents=True)
            if catalogue(into, code).exists():
                shutil.copyfile(catalogue(into, code), target)
        # No project settings: makemessages configures its own (any LOCALE_PATHS would only get in the way).
        env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
        subprocess.run(
            [sys.executable, "-m", "django", "makemessages", *MAKEMESSAGES],
            cwd=app,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        written = []
        for code in LANGUAGES:
            target = catalogue(into, code)
            previous = target.read_text(encoding="utf-8") if target.exists() else None
            text = with_header(catalogue(app / "locale", code).read_text(encoding="utf-8"), code, previous)
            if previous is None or _without_creation_date(text) != _without_creation_date(previous):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            written.append(target)
    return written


def compile_messages() -> None:
    """Check every catalogue with ``msgfmt --check`` and compile them (django-admin compilemessages)."""
    for code in LANGUAGES:
        subprocess.run(["msgfmt", "--check", "--output-file=/dev/null", catalogue(APP / "locale", code)], check=True)
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    subprocess.run([sys.executable, "-m", "django", "compilemessages"], cwd=APP, env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--into", type=Path, help="write the catalogues under this folder (<lang>/LC_MESSAGES/)")
    group.add_argument("--compile", action="store_true", help="then check and compile the catalogues")
    args = parser.parse_args()
    for path in make_messages(args.into or APP / "locale"):
        print(path)
    if args.compile:
        compile_messages()


if __name__ == "__main__":
    main()

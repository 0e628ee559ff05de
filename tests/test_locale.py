"""The shipped catalogues: complete, compiled, in step with the sources, and used when a page is rendered."""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse
from django.utils import translation

from notifications.store import preferences
from notifications.store.kinds import DEFAULT_KIND
from scripts.makemessages import APP, LANGUAGES, catalogue
from testing.html import attr, elements, text_of

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "makemessages.py"
LOCALE = APP / "locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)")


@dataclass
class Entry:
    """One message of a .po file."""

    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return self.msgctxt, self.msgid, self.msgid_plural


def _unquote(text: str) -> str:
    assert text.startswith('"') and text.endswith('"'), text
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes[m[1]], text[1:-1])


def parse_po(path: Path) -> tuple[dict[str, str], list[Entry]]:
    """The header's fields and the entries of a .po file (obsolete ``#~`` entries are left out)."""
    entries: list[Entry] = []
    entry, part = Entry(), ""

    def finish() -> None:
        nonlocal entry
        if entry.msgstr:
            entries.append(entry)
        entry = Entry()

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            finish()
        elif line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            if part.startswith("msgstr"):
                index = int(part[7:-1]) if "[" in part else 0
                entry.msgstr[index] += _unquote(line)
            else:
                setattr(entry, part, getattr(entry, part) + _unquote(line))
        else:
            part, _, value = line.partition(" ")
            if part.startswith("msgstr"):
                entry.msgstr[int(part[7:-1]) if "[" in part else 0] = _unquote(value)
            else:
                setattr(entry, part, _unquote(value))
    finish()
    [header] = [e for e in entries if e.msgid == "" and e.msgctxt is None]
    fields = dict(line.split(": ", 1) for line in header.msgstr[0].splitlines() if ": " in line)
    return fields, [e for e in entries if e is not header]


@pytest.fixture(autouse=True)
def default_language_afterwards() -> Iterator[None]:
    """A request with Accept-Language leaves its language active in this thread (LocaleMiddleware activates it,
    nothing deactivates it): the tests that run next in this process expect the default language."""
    yield
    translation.deactivate()


@pytest.fixture(params=sorted(LANGUAGES))
def language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_each_language_ships_a_source_and_a_compiled_catalogue(language: str) -> None:
    po = catalogue(LOCALE, language)
    assert po.is_file() and po.with_suffix(".mo").is_file()


def test_the_header_names_the_language_and_its_plural_forms_and_is_not_fuzzy(language: str) -> None:
    header, _ = parse_po(catalogue(LOCALE, language))
    assert header["Language"] == language
    assert header["Plural-Forms"] == LANGUAGES[language][1]
    assert header["Content-Type"] == "text/plain; charset=UTF-8"
    assert "fuzzy" not in catalogue(LOCALE, language).read_text(encoding="utf-8")


def test_every_entry_is_translated_in_every_plural_form(language: str) -> None:
    header, entries = parse_po(catalogue(LOCALE, language))
    nplurals = int(re.search(r"nplurals=(\d+)", header["Plural-Forms"])[1])  # type: ignore[index]
    assert entries
    for entry in entries:
        forms = nplurals if entry.msgid_plural else 1
        assert sorted(entry.msgstr) == list(range(forms)), entry.key
        assert all(text.strip() for text in entry.msgstr.values()), f"untranslated: {entry.key}"
        assert "fuzzy" not in entry.flags, entry.key


def test_translations_keep_the_placeholders(language: str) -> None:
    """Every form uses only the source's placeholders; a form used for many numbers (the last) uses them all.
    (A form for one number alone may spell it out: Arabic says "إشعار واحد" for 1, with no digit.)"""
    _, entries = parse_po(catalogue(LOCALE, language))
    for entry in entries:
        expected = set(PLACEHOLDER.findall(entry.msgid + (entry.msgid_plural or "")))
        forms = [set(PLACEHOLDER.findall(text)) for _, text in sorted(entry.msgstr.items())]
        assert all(form <= expected for form in forms), entry.key
        assert forms[-1] == expected, entry.key
        if not entry.msgid_plural:
            assert forms[0] == expected, entry.key


def test_the_compiled_catalogue_matches_its_source(language: str) -> None:
    """The .mo was compiled from the current .po (run scripts/makemessages.py --compile after editing it)."""
    _, entries = parse_po(catalogue(LOCALE, language))
    with catalogue(LOCALE, language).with_suffix(".mo").open("rb") as mo:
        compiled: dict[Any, str] = gettext.GNUTranslations(mo)._catalog  # type: ignore[attr-defined]
    expected: dict[Any, str] = {}
    for entry in entries:
        msgid = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural:
            expected.update(((msgid, index), text) for index, text in entry.msgstr.items())
        else:
            expected[msgid] = entry.msgstr[0]
    assert {key: value for key, value in compiled.items() if key != ""} == expected


@pytest.mark.skipif(
    not shutil.which("xgettext"), reason="xgettext (GNU gettext) is not installed: apt-get install gettext"
)
def test_the_catalogues_hold_exactly_the_strings_of_the_sources(tmp_path: Path) -> None:
    """The procedure that makes the catalogues, run afresh into a temporary folder, finds the same messages:
    nothing marked in the app or the partials is missing, nothing left over. On failure run
    ``.venv/bin/python scripts/makemessages.py --compile`` and translate what it adds."""
    subprocess.run([sys.executable, str(SCRIPT), "--into", str(tmp_path)], check=True, capture_output=True)
    for code in LANGUAGES:
        fresh = {entry.key for entry in parse_po(catalogue(tmp_path, code))[1]}
        committed = {entry.key for entry in parse_po(catalogue(LOCALE, code))[1]}
        assert fresh - committed == set(), f"{code}: marked in the sources but not in the catalogue"
        assert committed - fresh == set(), f"{code}: in the catalogue but no longer in the sources"


@pytest.mark.parametrize(
    ("language", "count", "label"),
    [
        ("de", 1, "1 ungelesene Benachrichtigung"),
        ("de", 3, "3 ungelesene Benachrichtigungen"),
        ("fr", 0, "0 notification non lue"),
        ("fr", 2, "2 notifications non lues"),
        ("ar", 0, "لا توجد إشعارات غير مقروءة"),
        ("ar", 2, "إشعاران غير مقروءين"),
        ("ar", 5, "5 إشعارات غير مقروءة"),
        ("ar", 11, "11 إشعارًا غير مقروء"),
        ("ar", 100, "100 إشعار غير مقروء"),
    ],
)
def test_the_badge_speaks_the_active_language_in_the_right_plural(language: str, count: int, label: str) -> None:
    with translation.override(language):  # BADGE_COUNTS = "unread": the badge counts unread items
        html = render_to_string("partials/notification_badge.html", {"count": count, "badge_counts": "unread"})
    assert attr(html, "notification-count", "aria-label") == label


@pytest.mark.parametrize(
    ("language", "count", "label"),
    [
        ("de", 1, "1 neue Benachrichtigung"),
        ("fr", 2, "2 nouvelles notifications"),
        ("ar", 0, "لا توجد إشعارات جديدة"),
        ("ar", 2, "إشعاران جديدان"),
        ("ar", 11, "11 إشعارًا جديدًا"),
    ],
)
def test_the_unseen_badge_speaks_of_new_notifications(language: str, count: int, label: str) -> None:
    with translation.override(language):  # the default: the badge counts what no open panel has shown yet
        html = render_to_string("partials/notification_badge.html", {"count": count, "badge_counts": "unseen"})
    assert attr(html, "notification-count", "aria-label") == label


def test_the_digest_subject_is_translated() -> None:
    with translation.override("fr"):
        subject = render_to_string("notifications/email/digest_subject.txt", {"count": 4})
    assert subject.strip() == "Vous avez 4 notifications non lues"


def test_python_strings_follow_the_active_language() -> None:
    with translation.override("de"):
        assert str(preferences.MUTE_CHOICES["1h"]) == "1 Stunde stummschalten"
    with translation.override("fr"):
        assert str(DEFAULT_KIND.label) == "Autre"
    assert str(DEFAULT_KIND.label) == "Other"


@pytest.mark.django_db
def test_command_errors_are_translated() -> None:
    with translation.override("de"), pytest.raises(CommandError, match=re.escape("Kein Benutzer namens 'nobody'.")):
        call_command("notify", "nobody", "hi")


@pytest.mark.parametrize(
    ("accept_language", "heading"),
    [("de", "Benachrichtigungsverlauf"), ("fr", "Historique des notifications"), ("ar", "سجل الإشعارات")],
)
def test_the_history_page_follows_the_browsers_language(
    client: Client, alice: Any, accept_language: str, heading: str
) -> None:
    client.force_login(alice)
    html = client.get(reverse("notifications:history"), headers={"accept-language": accept_language}).text
    assert text_of(html, "nb-history-title") == heading
    assert "Notification history" not in html


def test_an_arabic_page_reads_right_to_left(client: Client) -> None:
    response = client.get(reverse("notifications:unsubscribe", args=["forged"]), headers={"accept-language": "ar"})
    assert response.status_code == 400
    html = response.text
    [page] = elements(html, "html")
    assert (page.attrs["lang"], page.attrs["dir"]) == ("ar", "rtl") and "هذا الرابط غير صالح" in html

"""Each reader's language and time zone (notifications.store.readers): pages, pushed frames, history and emails."""

from __future__ import annotations

import zoneinfo
from typing import Any
from unittest import mock

import pytest
from demo.models import Ticket
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import translation

from notifications import notify, notify_subscribers, subscribe
from notifications.live import protocol
from notifications.models import Notification, Preferences
from notifications.store.readers import Reader, reader_of, readers
from notifications.web import rendering
from testing.html import ANY, by_id, elements

pytestmark = pytest.mark.django_db(transaction=True)


def speaks(user: Any, language: str = "", seen: str = "", time_zone: str = "") -> Any:
    Preferences.objects.update_or_create(
        user=user, defaults={"language": language, "seen_language": seen, "time_zone": time_zone}
    )
    return user


def test_the_readers_choice_then_their_browsers_then_the_sites(alice: Any, bob: Any, settings: Any) -> None:
    carol = get_user_model().objects.create_user("carol")
    speaks(alice, language="de", seen="fr")
    speaks(bob, seen="ar")
    assert readers([alice.pk, bob.pk, carol.pk]) == {
        alice.pk: Reader("de"),
        bob.pk: Reader("ar"),
        carol.pk: Reader(settings.LANGUAGE_CODE),
    }
    assert reader_of(Preferences(language="xx", seen_language="de-at")) == Reader("de")  # unknown: skipped


def test_a_page_view_remembers_the_browsers_language_and_applies_the_readers_choice(alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    page = client.get("/notifications/", HTTP_ACCEPT_LANGUAGE="fr")
    assert Preferences.objects.get(user=alice).seen_language == "fr"
    assert elements(page.content.decode(), "html")[0].attrs["lang"] == "fr"
    speaks(alice, language="ar", seen="fr")
    page = client.get("/notifications/", HTTP_ACCEPT_LANGUAGE="fr")
    [html] = elements(page.content.decode(), "html")
    assert (html.attrs["lang"], html.attrs["dir"]) == ("ar", "rtl")


def test_one_event_reaches_each_follower_in_their_own_language(alice: Any, bob: Any, sent: list[Any]) -> None:
    carol = get_user_model().objects.create_user("carol")
    ticket = Ticket.objects.create(title="Login broken")
    for user, language in ((alice, "de"), (bob, "en"), (carol, "ar")):
        speaks(user, language=language)
        subscribe(user, ticket)
    dave = get_user_model().objects.create_user("dave")
    notify_subscribers(ticket, kind="comment", actor=dave, params={"excerpt": "same here"})
    frames = {message["pk"]: message["html"] for _, message in sent if message["type"] == protocol.PUSH}
    by_user = {n.recipient_id: frames[n.pk] for n in Notification.objects.all()}
    assert "dave hat kommentiert: same here" in by_user[alice.pk]
    assert "dave commented: same here" in by_user[bob.pk]
    assert "علّق dave: same here" in by_user[carol.pk]


def test_a_push_to_many_in_three_languages_renders_once_per_language(sent: list[Any]) -> None:
    users = get_user_model().objects.bulk_create([get_user_model()(username=f"u{i}") for i in range(180)])
    Preferences.objects.bulk_create(
        [Preferences(user=u, language=("en", "de", "ar")[i % 3]) for i, u in enumerate(users)]
    )
    with mock.patch.object(rendering, "_shared_new_frame", wraps=rendering._shared_new_frame) as shared:
        notify(get_user_model().objects.all(), kind="comment", actor="dave", params={"excerpt": "hi"})
    assert shared.call_count == 3
    # one message per language to every process, each naming its own 60 recipients
    assert sorted(len(message["items"]) for _, message in sent) == [60, 60, 60]


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        ("de", {1: "alice und 1 weitere Person", 2: "alice und 2 weitere Personen"}),
        ("fr", {1: "alice et 1 autre personne", 2: "alice et 2 autres personnes"}),
        (
            "ar",
            {
                1: "علّق alice وشخص آخر",
                2: "علّق alice وشخصان آخران",
                3: "علّق alice و3 أشخاص آخرين",
                11: "علّق alice و11 شخصًا آخر",
                100: "علّق alice و100 شخص آخر",
            },
        ),
    ],
)
def test_the_grouped_sentence_has_each_languages_plural_forms(
    alice: Any, language: str, counts: dict[int, str]
) -> None:
    for others, expected in counts.items():
        n = Notification(kind="comment", actors=["alice", *(f"x{i}" for i in range(others))], recipient=alice)
        with translation.override(language):
            assert expected in n.text, (others, n.text)


def test_frames_show_times_in_the_readers_time_zone(alice: Any, sent: list[Any]) -> None:
    speaks(alice, time_zone="Asia/Tokyo")
    n = notify(alice, "hello")
    [(_, message)] = sent
    [time] = elements(message["html"], datetime=ANY)
    tokyo = n.updated_at.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert time.text.strip().endswith(tokyo.strftime("%H:%M"))


def test_the_preferences_page_sets_language_and_time_zone_without_javascript(alice: Any, sent: list[Any]) -> None:
    client = Client()
    client.force_login(alice)
    page = client.get("/notifications/preferences/")
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else client.cookies["csrftoken"].value
    response = client.post(
        "/notifications/preferences/",
        {"action": "reader", "language": "de", "time_zone": "Europe/Berlin", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    prefs = Preferences.objects.get(user=alice)
    assert (prefs.language, prefs.time_zone) == ("de", "Europe/Berlin")
    [html] = elements(client.get("/notifications/preferences/").content.decode(), "html")
    assert html.attrs["lang"] == "de"
    bad = client.post("/notifications/preferences/", {"action": "reader", "language": "xx", "time_zone": ""})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("language", "minutes", "expected"),
    [
        ("en", 3, "3 minutes ago"),
        ("de", 2 * 24 * 60, "vor 2 Tagen"),
        ("fr", 60, "il y a 1 heure"),
        ("ar", 2 * 24 * 60, "منذ يومين"),
        ("ar", 5 * 60, "منذ 5 ساعات"),
        ("en", 0, "just now"),
    ],
)
def test_relative_times_are_localized(language: str, minutes: int, expected: str) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from notifications.templatetags.notifications import ago

    now = timezone.now()
    with translation.override(language):
        assert ago(now - timedelta(minutes=minutes), now).replace("\xa0", " ") == expected  # no-break spaces


def test_the_history_page_shows_times_in_the_readers_language_and_zone(alice: Any, sent: list[Any]) -> None:
    speaks(alice, language="de", time_zone="Asia/Tokyo")
    n = notify(alice, "hello")
    client = Client()
    client.force_login(alice)
    page = client.get("/notifications/").content.decode()
    entry = by_id(page, f"history-notification-{n.pk}")
    tokyo = n.updated_at.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert tokyo.strftime("%H:%M") in entry.text
    assert "gerade eben" in entry.text


@pytest.mark.parametrize(
    ("language", "forms"),
    [
        ("en", {1: "alice and 1 other", 2: "alice and 2 others"}),
        ("de", {1: "alice und 1 weitere Person", 5: "alice und 5 weitere Personen"}),
        ("fr", {1: "alice et 1 autre", 5: "alice et 5 autres"}),
        (
            "ar",
            {
                0: "alice",
                1: "alice وشخص آخر",
                2: "alice وشخصان آخران",
                3: "alice و3 أشخاص آخرون",
                11: "alice و11 شخصًا آخر",
                100: "alice و100 شخص آخر",
            },
        ),
    ],
)
def test_the_apps_grouped_sentence_has_every_plural_form(language: str, forms: dict[int, str]) -> None:
    """The sentence of a grouped free-text item ("alice and 3 others: ..."), from the app's own catalogue."""
    from django.template import engines

    template = engines["django"].from_string('{% include "partials/notification_message.html" %}')
    for others, expected in forms.items():
        n = Notification(message="deployed", actors=["alice", *(f"x{i}" for i in range(others))])
        with translation.override(language):
            assert template.render({"notification": n}).strip() == f"{expected} deployed", others

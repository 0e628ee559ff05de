"""One URL rule for every way in: the API's clean_* functions and the model's validators agree."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from notifications.models import Notification
from notifications.store.validation import clean_actions, clean_url, parse_pk, validate_actions, validate_url

UNSAFE = [
    "//evil.example",
    "https:evil.example",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "///evil.example",
    "\x00/x",
]
SAFE = ["/builds/42/", "builds/42/", "?page=2", "#top", "home", "https://docs.example/x"]


@pytest.fixture(autouse=True)
def docs_host(settings: Any) -> None:
    settings.NOTIFICATIONS = {"ALLOWED_URL_HOSTS": ["docs.example"]}


@pytest.mark.parametrize("url", UNSAFE)
def test_unsafe_urls_are_refused_everywhere(url: str) -> None:
    with pytest.raises(ValueError, match="not safe"):
        clean_url(url)
    with pytest.raises(ValidationError):
        validate_url(url)
    with pytest.raises(ValueError, match="not safe"):
        clean_actions([{"label": "Go", "url": url}])
    with pytest.raises(ValidationError):
        validate_actions([{"label": "Go", "url": url}])


@pytest.mark.parametrize("url", SAFE)
def test_safe_urls_pass_everywhere(url: str) -> None:
    assert clean_url(url) == url
    validate_url(url)
    validate_actions([{"label": "Go", "url": url}])


@pytest.mark.parametrize("actions", ["not a list", [{"label": "x"}], [{"label": "", "url": "/a/"}], [1]])
def test_malformed_actions(actions: Any) -> None:
    with pytest.raises(ValidationError):
        validate_actions(actions)


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["url", "actions"])
def test_model_full_clean_applies_the_rule(alice: Any, field: str) -> None:
    value: Any = "//evil.example" if field == "url" else [{"label": "Go", "url": "//evil.example"}]
    n = Notification(recipient=alice, message="hi", **{field: value})
    with pytest.raises(ValidationError) as error:
        n.full_clean()
    assert set(error.value.message_dict) == {field}


@pytest.mark.parametrize(
    ("value", "pk"),
    [(5, 5), ("5", 5), (0, None), (-1, None), ("1e3", None), (True, None), (2**63, None), ("٣", None), (1.0, None)],
)
def test_parse_pk(value: Any, pk: int | None) -> None:
    assert parse_pk(value) == pk


@pytest.mark.django_db
def test_saving_a_row_with_an_unsafe_link_is_refused(alice: Any) -> None:
    with pytest.raises(ValidationError):
        Notification.objects.create(recipient=alice, message="hi", url="javascript:alert(1)")
    n = Notification.objects.create(recipient=alice, message="hi", url="/fine/")
    n.actions = [{"label": "Go", "url": "//evil.example"}]
    with pytest.raises(ValidationError):
        n.save()
    assert Notification.objects.get().actions == []

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.core import checks

from testing.checks import check_ids


def messages(check_id: str, **kwargs: Any) -> list[checks.CheckMessage]:
    return [m for m in checks.run_checks(databases=[], **kwargs) if m.id == check_id]


def test_configured_project_is_clean() -> None:
    assert check_ids() == set()


def test_missing_channel_layer(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {}
    assert "notifications.E001" in check_ids()


def test_in_memory_layer_warns_on_deploy_checks(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert "notifications.W001" in check_ids(include_deployment_checks=True)
    assert "notifications.W001" not in check_ids()


def test_partials_not_found(settings: Any) -> None:
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]
    assert "notifications.E002" in check_ids()


def test_unknown_setting(settings: Any) -> None:
    settings.NOTIFICATIONS = {"BAR_SIZ": 3}
    assert "notifications.E003" in check_ids()


def test_urls_not_included(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.urls_without_notifications"
    assert "notifications.E004" in check_ids()


def test_core_redis_layer_warns(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}}
    assert "notifications.W002" in check_ids()


def test_runserver_without_daphne_first_warns_in_development(settings: Any) -> None:
    settings.DEBUG = True
    assert "notifications.W004" not in check_ids()  # the demo: daphne first, ASGI_APPLICATION set
    apps = [app for app in settings.INSTALLED_APPS if app != "daphne"]
    settings.INSTALLED_APPS = apps
    assert "notifications.W004" in check_ids()
    settings.INSTALLED_APPS = [*apps[:6], "daphne", *apps[6:]]  # after django.contrib.staticfiles
    assert "notifications.W004" in check_ids()
    settings.DEBUG = False
    assert "notifications.W004" not in check_ids()


@pytest.mark.parametrize(
    "backend", ["channels_redis.pubsub.RedisPubSubChannelLayer", "channels_redis.core.RedisChannelLayer"]
)
def test_a_redis_layer_without_channels_redis_names_the_extra(
    settings: Any, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": backend}}
    assert "notifications.E012" not in check_ids()  # installed here (the demo and test extras pull it in)
    monkeypatch.setitem(sys.modules, "channels_redis", None)  # as if not installed: its import fails
    [error] = messages("notifications.E012")
    assert error.level == checks.ERROR and backend in error.msg
    assert error.hint == 'Install the redis extra: pip install "django-htmx-notification-bar[redis]"'


def test_the_in_memory_layer_needs_no_redis(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    monkeypatch.setitem(sys.modules, "channels_redis", None)
    assert "notifications.E012" not in check_ids(include_deployment_checks=True)


def test_runserver_without_daphne_installed_names_the_extra(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.DEBUG = True
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "daphne"]
    monkeypatch.setitem(sys.modules, "daphne", None)  # as if not installed
    ids = check_ids()
    assert "notifications.W005" in ids and "notifications.W004" not in ids  # one warning, the one that helps
    [warning] = messages("notifications.W005")
    assert 'pip install "django-htmx-notification-bar[daphne]"' in warning.hint
    settings.DEBUG = False  # production serves with daphne or uvicorn: runserver does not matter
    assert "notifications.W005" not in check_ids()


def test_runserver_without_an_asgi_application_warns(settings: Any) -> None:
    settings.DEBUG = True
    del settings.ASGI_APPLICATION
    assert "notifications.W004" in check_ids()


def test_denied_target_models_must_be_installed_models(settings: Any) -> None:
    settings.NOTIFICATIONS = {"DENIED_TARGET_MODELS": ["auth.User", "demo.Ticket"]}
    assert "notifications.E011" not in check_ids()
    settings.NOTIFICATIONS = {"DENIED_TARGET_MODELS": ["demo.Tiket"]}
    assert "notifications.E011" in check_ids()


def test_a_kind_grouped_by_target_is_valid_and_a_grouped_message_needs_a_message(settings: Any) -> None:
    settings.NOTIFICATIONS = {"KINDS": {"comment": {"group_by": "target", "message": "{actor} commented"}}}
    assert "notifications.E010" not in check_ids()
    settings.NOTIFICATIONS = {"KINDS": {"comment": {"grouped_message": ("a", "b")}}}
    assert "notifications.E010" in check_ids()


def test_a_sentinel_host_entry_needs_its_sentinels_and_master_name(settings: Any) -> None:
    def layer(*hosts: Any) -> dict[str, Any]:
        config = {"hosts": list(hosts)}
        return {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": config}}

    sentinels = [("10.0.0.1", 26379), ("10.0.0.2", 26379), ("10.0.0.3", 26379)]
    settings.CHANNEL_LAYERS = layer({"sentinels": sentinels, "master_name": "mymaster", "db": 1, "password": "pw"})
    assert "notifications.E013" not in check_ids()
    settings.CHANNEL_LAYERS = layer("redis://127.0.0.1:6379/0", {"sentinels": sentinels, "password": "secret"})
    [error] = messages("notifications.E013")
    assert "host 2 " in error.msg and "secret" not in error.msg  # names which host, never its password
    settings.CHANNEL_LAYERS = layer({"master_name": "mymaster"})
    assert "notifications.E013" in check_ids()
    settings.CHANNEL_LAYERS = layer({"sentinels": ["10.0.0.1:26379"], "master_name": "mymaster"})  # not pairs
    assert "notifications.E013" in check_ids()

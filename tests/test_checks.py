from __future__ import annotations

from typing import Any

from django.core import checks


def ids(**kwargs: Any) -> set[str]:
    return {message.id for message in checks.run_checks(**kwargs) if message.id.startswith("notifications.")}


def test_configured_project_is_clean() -> None:
    assert ids() == set()


def test_missing_channel_layer(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {}
    assert "notifications.E001" in ids()


def test_in_memory_layer_warns_on_deploy_checks(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert "notifications.W001" in ids(include_deployment_checks=True)
    assert "notifications.W001" not in ids()


def test_partials_not_found(settings: Any) -> None:
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]
    assert "notifications.E002" in ids()


def test_unknown_setting(settings: Any) -> None:
    settings.NOTIFICATIONS = {"BAR_SIZ": 3}
    assert "notifications.E003" in ids()


def test_urls_not_included(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.urls_without_notifications"
    assert "notifications.E004" in ids()


def test_core_redis_layer_warns(settings: Any) -> None:
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer"}}
    assert "notifications.W002" in ids()

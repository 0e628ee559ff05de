"""Group names: namespaced per deployment, valid for every channel layer; the checks around the namespace."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from channels.layers import InMemoryChannelLayer

import notifications
from notifications.live import protocol
from testing.checks import check_ids

REDIS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": []}}}


def test_two_projects_with_their_own_keys_never_share_a_group(settings: Any) -> None:
    settings.SECRET_KEY = "staging-" + "s" * 50
    staging = (protocol.user_group(1), protocol.broadcast_group())
    settings.SECRET_KEY = "production-" + "p" * 50
    production = (protocol.user_group(1), protocol.broadcast_group())
    assert not set(staging) & set(production)


def test_the_namespace_shows_nothing_of_the_key(settings: Any) -> None:
    settings.SECRET_KEY = "a-very-secret-key-" + "k" * 40
    assert "secret" not in protocol.user_group(1) and settings.SECRET_KEY[:8] not in protocol.user_group(1)


def test_an_explicit_namespace_wins(settings: Any) -> None:
    settings.NOTIFICATIONS = {"NAMESPACE": "shop-prod"}
    assert protocol.user_group(7) == "notifications.shop-prod.user.7"
    assert protocol.broadcast_group() == "notifications.shop-prod.all"


def test_group_names_are_valid_channel_layer_names() -> None:
    layer = InMemoryChannelLayer()
    assert layer.require_valid_group_name(protocol.user_group(2**62))
    assert layer.require_valid_group_name(protocol.broadcast_group())


def test_close_codes_are_ones_daphne_can_send() -> None:
    codes = [getattr(protocol, name) for name in dir(protocol) if name.startswith("CLOSE_")]
    assert codes and all(4000 <= code <= 4999 for code in codes)


def test_an_invalid_namespace_is_an_error(settings: Any) -> None:
    settings.NOTIFICATIONS = {"NAMESPACE": "has spaces"}
    assert "notifications.E005" in check_ids()


def test_redis_with_a_weak_key_and_no_namespace_warns_on_deploy(settings: Any) -> None:
    settings.CHANNEL_LAYERS = REDIS
    settings.SECRET_KEY = "django-insecure-" + "x1y2z3" * 10
    assert "notifications.W003" in check_ids(include_deployment_checks=True)
    settings.NOTIFICATIONS = {"NAMESPACE": "shop-prod"}
    assert "notifications.W003" not in check_ids(include_deployment_checks=True)


def test_redis_with_a_strong_key_is_quiet(settings: Any) -> None:
    settings.CHANNEL_LAYERS = REDIS
    settings.SECRET_KEY = "".join(chr(33 + i % 90) for i in range(60))
    assert "notifications.W003" not in check_ids(include_deployment_checks=True)


PACKAGE = Path(notifications.__file__).parent
CLOSE_CODES = [str(getattr(protocol, name)) for name in dir(protocol) if name.startswith("CLOSE_")]
TYPES = [value for name, value in vars(protocol).items() if name.isupper() and str(value).startswith("notification.")]


@pytest.mark.parametrize(
    ("what", "pattern"),
    [
        ("a close code", r"\b({})\b".format("|".join(CLOSE_CODES))),
        ("a group name", r"notifications\.(\{|user\b|all\b)"),
        ("a message type", "|".join(re.escape(t) for t in TYPES)),
    ],
)
def test_only_the_protocol_module_writes_the_protocol(what: str, pattern: str) -> None:
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "protocol.py" and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(pattern, line)
    ]
    assert found == [], f"{what} written outside notifications/live/protocol.py"


def test_a_redis_database_number_keeps_a_staging_copy_apart(settings: Any) -> None:
    """Before: a staging copy of production (same SECRET_KEY, same user ids) on ``redis://.../1`` shared
    production's groups, since Redis pub/sub ignores the database number, and received its notifications live."""

    def layer(url: str) -> dict[str, Any]:
        config = {"hosts": [url]}
        return {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": config}}

    settings.CHANNEL_LAYERS = layer("redis://127.0.0.1:6379/0")
    production = protocol.user_group(1)
    settings.CHANNEL_LAYERS = layer("redis://127.0.0.1:6379/1")
    staging = protocol.user_group(1)
    assert staging != production and "-db1." in staging
    settings.CHANNEL_LAYERS = layer("redis://127.0.0.1:6379?db=1")
    assert protocol.user_group(1) == staging
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert protocol.user_group(1) == production  # database 0 and no Redis: the namespace as it always was
    settings.NOTIFICATIONS = {"NAMESPACE": "shop"}
    settings.CHANNEL_LAYERS = layer("redis://127.0.0.1:6379/2")
    assert protocol.user_group(1) == "notifications.shop-db2.user.1"
    assert InMemoryChannelLayer().require_valid_group_name(protocol.broadcast_group())


def test_a_sentinel_host_entry_keeps_its_database_number_apart_too(settings: Any) -> None:
    def layer(host: dict[str, Any]) -> dict[str, Any]:
        return {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {"hosts": [host]}}}

    sentinel = {"sentinels": [("10.0.0.1", 26379), ("10.0.0.2", 26379)], "master_name": "mymaster"}
    settings.CHANNEL_LAYERS = layer(sentinel)
    production = protocol.user_group(1)
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert protocol.user_group(1) == production  # a Sentinel entry on database 0: the namespace as it always was
    settings.CHANNEL_LAYERS = layer({**sentinel, "db": 1})
    assert protocol.user_group(1) != production and "-db1." in protocol.user_group(1)

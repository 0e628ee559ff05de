"""System checks: misconfiguration fails loudly at start-up with stable ids."""

from __future__ import annotations

import importlib.util
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.template import TemplateDoesNotExist
from django.template.loader import get_template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

from . import conf
from .live import protocol
from .web import rendering

IN_MEMORY = "channels.layers.InMemoryChannelLayer"
REDIS_CORE = "channels_redis.core.RedisChannelLayer"
REDIS_PUBSUB = "channels_redis.pubsub.RedisPubSubChannelLayer"


def _importable(module: str) -> bool:
    """Whether ``import module`` would find it (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _layer_backend() -> str | None:
    """The default channel layer's BACKEND, or None when there is none."""
    backend = getattr(settings, "CHANNEL_LAYERS", {}).get("default", {}).get("BACKEND")
    return backend if isinstance(backend, str) else None


@register(Tags.compatibility)
def check_channel_layer_configured(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if not _layer_backend():
        return [
            Error(
                _("No default channel layer: notifications would be stored but never pushed."),
                hint=_("Set CHANNEL_LAYERS['default'] to channels_redis (or InMemoryChannelLayer for one process)."),
                id="notifications.E001",
            )
        ]
    return []


@register(Tags.compatibility)
def check_channel_layer_installed(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """channels-redis is an extra (``[redis]``): a layer naming it must find it installed."""
    backend = _layer_backend()
    if backend and backend.startswith("channels_redis.") and not _importable("channels_redis"):
        return [
            Error(
                _("CHANNEL_LAYERS['default'] uses %(backend)s, but channels-redis is not installed.")
                % {"backend": backend},
                hint=_('Install the redis extra: pip install "django-htmx-notification-bar[redis]"'),
                id="notifications.E012",
            )
        ]
    return []


@register(Tags.compatibility, deploy=True)
def check_channel_layer_for_deployment(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if _layer_backend() == IN_MEMORY:
        return [
            Warning(
                _(
                    "The in-memory channel layer reaches sockets of this process only: notifications sent from "
                    "other processes (manage.py notify, workers, other daphne workers) are stored but not pushed live."
                ),
                hint=_("Use channels_redis.pubsub.RedisPubSubChannelLayer to run more than one process."),
                id="notifications.W001",
            )
        ]
    return []


@register(Tags.templates)
def check_partials(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in (rendering.BAR_TEMPLATE, rendering.ITEM_TEMPLATE, rendering.STATE_FRAME_TEMPLATE):
        try:
            get_template(name)
        except TemplateDoesNotExist:
            errors.append(
                Error(
                    _("The partial %(name)s cannot be found.") % {"name": repr(name)},
                    hint=_(
                        "Install the package from a wheel (it carries templates/partials/), or add the "
                        "repository's templates/ directory to TEMPLATES['DIRS']."
                    ),
                    id="notifications.E002",
                )
            )
    return errors


@register(Tags.compatibility)
def check_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    try:
        conf.get("BAR_SIZE")
    except KeyError as error:
        known = ", ".join(conf.DEFAULTS)
        return [Error(str(error.args[0]), hint=_("Known keys: %(keys)s.") % {"keys": known}, id="notifications.E003")]
    return []


@register(Tags.urls)
def check_urls(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    try:
        reverse("notifications:history")
    except NoReverseMatch:
        return [
            Error(
                _("notifications.urls is not included: the bar's forms and the history page have no URLs."),
                hint=_('Add path("notifications/", include("notifications.urls")) to your URLconf.'),
                id="notifications.E004",
            )
        ]
    return []


@register(Tags.compatibility)
def check_redis_layer_kind(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if _layer_backend() == REDIS_CORE:
        return [
            Warning(
                _(
                    "channels_redis.core.RedisChannelLayer copies every group message into each member's list and "
                    "silently drops what exceeds its capacity: under load, open bars miss frames."
                ),
                hint=_("Use channels_redis.pubsub.RedisPubSubChannelLayer: one PUBLISH per group message."),
                id="notifications.W002",
            )
        ]
    return []


def _valid_sentinels(value: object) -> bool:
    """A non-empty list of ``(host, port)`` pairs, as redis-py's ``Sentinel`` takes them."""
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[1], int) for pair in value)
    )


@register(Tags.compatibility)
def check_sentinel_hosts(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """A channels-redis host entry naming one of ``sentinels`` and ``master_name`` needs both: with one alone,
    channels-redis fails only at the first socket, deep inside the layer."""
    backend = _layer_backend()
    if backend not in (REDIS_CORE, REDIS_PUBSUB):
        return []
    hosts = getattr(settings, "CHANNEL_LAYERS", {})["default"].get("CONFIG", {}).get("hosts") or []
    errors: list[CheckMessage] = []
    for number, host in enumerate(hosts if isinstance(hosts, list | tuple) else [], 1):
        if not isinstance(host, dict) or not ({"sentinels", "master_name"} & host.keys()):
            continue
        if _valid_sentinels(host.get("sentinels")) and isinstance(host.get("master_name"), str):
            continue
        errors.append(
            Error(
                # Translators: 'sentinels' and 'master_name' are keys of a Python dict: keep them as they are.
                _(
                    "Channel-layer host %(number)d is a Redis Sentinel entry without a valid 'sentinels' list of "
                    "(host, port) pairs and a 'master_name'."
                )
                % {"number": number},
                hint=_(
                    "For example {'sentinels': [('10.0.0.1', 26379), ('10.0.0.2', 26379), ('10.0.0.3', 26379)], "
                    "'master_name': 'mymaster'}; see the deployment how-to."
                ),
                id="notifications.E013",
            )
        )
    return errors


@register(Tags.compatibility)
def check_namespace(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    try:
        value = conf.get("NAMESPACE")
    except KeyError:
        return []  # E003 reports it
    if value is not None and not protocol.valid_namespace(value):
        return [
            Error(
                _("NOTIFICATIONS['NAMESPACE'] = %(value)s is not a valid namespace.") % {"value": repr(value)},
                hint=_("Use 1 to 40 letters, digits, '-' or '_', or leave it unset to derive one from SECRET_KEY."),
                id="notifications.E005",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_shared_namespace(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """Group names are namespaced by a digest of SECRET_KEY: a key copied between projects shares groups."""
    if _layer_backend() not in (REDIS_CORE, REDIS_PUBSUB) or conf.get("NAMESPACE"):
        return []
    key = str(getattr(settings, "SECRET_KEY", ""))
    if len(key) >= 50 and len(set(key)) >= 5 and not key.startswith("django-insecure-"):
        return []
    return [
        Warning(
            _(
                "The channel-layer namespace is derived from a SECRET_KEY that looks shared or insecure: another "
                "project on the same Redis with the same key would receive this project's notifications."
            ),
            hint=_(
                "Give each deployment its own strong SECRET_KEY, or set NOTIFICATIONS['NAMESPACE'] to a name "
                "unique on that Redis."
            ),
            id="notifications.W003",
        )
    ]


@register(Tags.compatibility)
def check_runserver_serves_websockets(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """``manage.py runserver`` serves WebSockets only as daphne's runserver, which must come first."""
    if not settings.DEBUG:
        return []  # production serves with daphne or uvicorn, not runserver
    apps = list(settings.INSTALLED_APPS)
    staticfiles = "django.contrib.staticfiles"
    daphne_first = "daphne" in apps and (staticfiles not in apps or apps.index("daphne") < apps.index(staticfiles))
    if daphne_first and getattr(settings, "ASGI_APPLICATION", None):
        return []
    if not _importable("daphne"):  # an extra ([daphne]): without it, "daphne" cannot even be in INSTALLED_APPS
        return [
            Warning(
                _(
                    "daphne is not installed: manage.py runserver would serve this project without WebSockets (the "
                    "bar's socket would get a 404)."
                ),
                hint=_(
                    'Install the daphne extra: pip install "django-htmx-notification-bar[daphne]", then put '
                    '"daphne" first in INSTALLED_APPS and set ASGI_APPLICATION; or serve with uvicorn.'
                ),
                id="notifications.W005",
            )
        ]
    return [
        Warning(
            _(
                "manage.py runserver would serve this project without WebSockets: the bar's socket would get a 404 "
                "and htmx would retry it forever."
            ),
            hint=_(
                'Put "daphne" first in INSTALLED_APPS (before django.contrib.staticfiles) and set '
                'ASGI_APPLICATION = "yourproject.asgi.application", or serve with daphne or uvicorn.'
            ),
            id="notifications.W004",
        )
    ]


@register(Tags.compatibility)
def check_kinds(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """NOTIFICATIONS["KINDS"]: a dict of names to dicts of known keys, valid levels, partials that exist."""
    from .models import Level
    from .store.kinds import GROUP_BY, KEYS

    try:
        declared = conf.get("KINDS")
    except KeyError:
        return []  # reported by E003
    errors: list[CheckMessage] = []

    def error(message: str) -> None:
        hint = _("See the documentation: how-to, kinds, preferences and email digests.")
        errors.append(Error(message, hint=hint, id="notifications.E010"))

    if not isinstance(declared, dict):
        error(_("NOTIFICATIONS['KINDS'] must be a dict of kind names to dicts of options."))
        return errors
    for name, options in declared.items():
        if not isinstance(name, str) or not name or len(name) > 50 or not name.replace("_", "").isalnum():
            error(_("Kind name %(name)s must be 1-50 letters, digits or underscores.") % {"name": repr(name)})
            continue
        kind = {"name": repr(name)}
        if not isinstance(options, dict):
            error(_("Kind %(name)s: options must be a dict.") % kind)
            continue
        for key in sorted(set(options) - KEYS):
            error(
                _("Kind %(name)s: unknown option %(key)s (known: %(known)s).")
                % {**kind, "key": repr(key), "known": ", ".join(sorted(KEYS))}
            )
        if "level" in options and options["level"] not in Level.values:
            error(
                _("Kind %(name)s: level %(level)s is not one of %(levels)s.")
                % {**kind, "level": repr(options["level"]), "levels": ", ".join(Level.values)}
            )
        if options.get("group_by") not in GROUP_BY:
            # Translators: None, 'kind', 'url' and 'target' are Python values: keep them as they are.
            error(_("Kind %(name)s: group_by must be None, 'kind', 'url' or 'target'.") % kind)
        if options.get("grouped_message") and not options.get("message"):
            error(_("Kind %(name)s: grouped_message needs a message too.") % kind)
        for key in ("email", "bar_default", "email_default"):
            if key in options and not isinstance(options[key], bool):
                # Translators: %(key)s is an option's name; True and False are Python values.
                error(_("Kind %(name)s: %(key)s must be True or False.") % {**kind, "key": key})
        after = options.get("email_unread_after")
        if after is not None and (isinstance(after, bool) or not isinstance(after, int) or after <= 0):
            # Translators: email_unread_after is an option's name and None a Python value: keep them as they are.
            error(_("Kind %(name)s: email_unread_after must be a number of seconds above 0, or None.") % kind)
        if options.get("template"):
            try:
                get_template(options["template"])
            except TemplateDoesNotExist:
                error(
                    _("Kind %(name)s: template %(template)s does not exist.")
                    % {**kind, "template": repr(options["template"])}
                )
    return errors


@register(Tags.models)
def check_denied_target_models(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """NOTIFICATIONS["DENIED_TARGET_MODELS"]: "app_label.ModelName" of installed models (a typo denies nothing)."""
    from django.apps import apps

    try:
        labels = conf.get("DENIED_TARGET_MODELS")
    except KeyError:
        return []  # reported by E003
    errors: list[CheckMessage] = []
    for label in labels:
        try:
            apps.get_model(label)
        except (LookupError, ValueError, TypeError):
            errors.append(
                Error(
                    _("NOTIFICATIONS['DENIED_TARGET_MODELS'] names %(label)s, which is not an installed model.")
                    % {"label": repr(label)},
                    hint=_('Write each as "app_label.ModelName", e.g. "auth.User".'),
                    id="notifications.E011",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def check_base_url(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    base = conf.get("BASE_URL")
    if not isinstance(base, str) or "://localhost" in base or "://127.0.0.1" in base:
        return [
            Warning(
                _(
                    "NOTIFICATIONS['BASE_URL'] is %(base)s: links in digest emails (and the unsubscribe link) "
                    "would point there."
                )
                % {"base": repr(base)},
                hint=_("Set it to your site's public https://host."),
                id="notifications.W010",
            )
        ]
    return []

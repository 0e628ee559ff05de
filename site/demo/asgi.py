"""ASGI entry point: HTTP through Django, WebSockets through Channels (daphne demo.asgi:application)."""

from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the consumers are imported

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from notifications.live.auth import AuthMiddlewareStack  # noqa: E402
from notifications.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

# What start-up loaded (Django, the URLconf, these modules) lives as long as the process: keep it out of
# every full garbage collection, which walks all it tracks while every socket of the process waits (at 1,000
# sockets: 240-290 ms before, 130-170 ms after; bench/results/latency.md, section 3).
gc.collect()
gc.freeze()

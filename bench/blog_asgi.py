"""(B) the blog-post design: every socket joins one "notifications" group; the layer carries the notification
as data and each consumer JSON-encodes it for the client, which renders it (in the browser, with custom JS).

Same auth stack as the product (session cookie, AllowedHostsOriginValidator). Serve with
``daphne bench.blog_asgi:application`` (PYTHONPATH=site:., DJANGO_SETTINGS_MODULE=bench.settings).
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

GROUP = "notifications"


class BlogNotificationConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()
            return
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def send_notification(self, event: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(event["notification"]))


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([path("ws/notifications/", BlogNotificationConsumer.as_asgi())]))
        ),
    }
)

"""The WebSocket route. Include ``websocket_urlpatterns`` in your ASGI application's URLRouter."""

from __future__ import annotations

from django.urls import path

from . import conf
from .live.consumers import NotificationConsumer

websocket_urlpatterns = [
    path(conf.get("WEBSOCKET_PATH").lstrip("/"), NotificationConsumer.as_asgi(), name="notifications-ws"),
]

"""The demo's user admin: Django's own, plus the app's "Send a notification" action (an opt-in, one line)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from notifications.admin import send_notification

admin.site.unregister(User)


@admin.register(User)
class DemoUserAdmin(UserAdmin):
    actions = [send_notification]

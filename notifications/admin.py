"""The admin: notifications, preferences and subscriptions to browse and search, and ``send_notification``, an
action a project adds to its own user admin (the app never changes the user admin by itself)::

    actions = [send_notification]   # in your UserAdmin; from notifications.admin import send_notification
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from .models import Level, Notification, NotificationQuerySet, Preferences, Subscription
from .store import api
from .store.validation import validate_url

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


class ReadFilter(admin.SimpleListFilter):
    title = _("read")
    parameter_name = "read"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Notification]
    ) -> list[tuple[str, StrPromise]]:
        return [
            ("no", pgettext_lazy("notifications filter", "Unread")),
            ("yes", pgettext_lazy("notifications filter", "Read")),
        ]

    def queryset(self, request: HttpRequest, queryset: NotificationQuerySet) -> NotificationQuerySet:  # type: ignore[override]
        if self.value() == "no":
            return queryset.unread()
        if self.value() == "yes":
            return queryset.read()
        return queryset


if TYPE_CHECKING:  # generic only in django-stubs; at run time ModelAdmin takes no parameters
    NotificationModelAdmin = admin.ModelAdmin[Notification]
    PreferencesModelAdmin = admin.ModelAdmin[Preferences]
    SubscriptionModelAdmin = admin.ModelAdmin[Subscription]
else:
    NotificationModelAdmin = PreferencesModelAdmin = SubscriptionModelAdmin = admin.ModelAdmin


@admin.register(Notification)
class NotificationAdmin(NotificationModelAdmin):
    list_display = [
        "__str__",
        "recipient",
        "kind",
        "level",
        "group_count",
        "updated_at",
        "read_at",
        "muted",
        "emailed_at",
        "about",
    ]
    list_filter = [
        "level",
        "kind",
        "muted",
        ReadFilter,
        ("archived_at", admin.EmptyFieldListFilter),
        ("target_type", admin.RelatedOnlyFieldListFilter),
        "recipient",
    ]
    search_fields = ["message", "title", "recipient__username", "group_key", "target_name"]
    list_select_related = ["recipient", "target_type"]
    raw_id_fields = ["recipient"]
    date_hierarchy = "created_at"

    @admin.display(description=_("about"), ordering="target_name")
    def about(self, obj: Notification) -> str:
        """The name of what it is about, as stored (no query per row; the change page shows the object)."""
        return obj.target_name


class SendForm(forms.Form):
    message = forms.CharField(label=_("Message"), widget=forms.Textarea(attrs={"rows": 3}))
    level = forms.ChoiceField(label=_("Level"), choices=Level.choices, initial=Level.INFO)
    url = forms.CharField(label=_("Link"), required=False, validators=[validate_url])


@admin.action(description=_("Send a notification to the selected users"))
def send_notification(
    modeladmin: admin.ModelAdmin[AbstractBaseUser], request: HttpRequest, queryset: QuerySet[AbstractBaseUser]
) -> HttpResponse | None:
    """An admin action for the user admin: a form (message, level, link), then one notification per selected
    user. Opt in with ``actions = [send_notification]`` on your own ``UserAdmin``."""
    form = SendForm(request.POST if "message" in request.POST else None)
    if form.is_valid():
        try:
            sent = api.notify(queryset, **form.cleaned_data)
        except ValueError as error:
            form.add_error(None, str(error))
        else:
            count = len(sent)
            modeladmin.message_user(
                request,
                ngettext("Notified %(count)d user.", "Notified %(count)d users.", count) % {"count": count},
                messages.SUCCESS,
            )
            return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": _("Send a notification"),
        "form": form,
        "queryset": queryset,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    }
    return render(request, "admin/notifications/send_notification.html", context)


@admin.register(Preferences)
class PreferencesAdmin(PreferencesModelAdmin):
    """A user's choices as they made them (kinds they never touched follow the defaults in settings)."""

    list_display = ["user", "digest", "muted_until", "bar", "email", "updated_at"]
    list_filter = ["digest"]
    search_fields = ["user__username", "user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["updated_at"]


@admin.register(Subscription)
class SubscriptionAdmin(SubscriptionModelAdmin):
    """Who follows what (``subscribe()``): filter by the followed model, search by user."""

    list_display = ["user", "target_type", "target_id", "followed", "created_at"]
    list_filter = [("target_type", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "target_id"]
    list_select_related = ["user", "target_type"]
    raw_id_fields = ["user"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Subscription]:
        return super().get_queryset(request).prefetch_related("target")  # one query per followed model

    @admin.display(description=_("followed object"))
    def followed(self, obj: Subscription) -> str:
        target = obj.target
        gone = pgettext_lazy("an object a notification is about", "(deleted)")
        return str(target) if target is not None else str(gone)

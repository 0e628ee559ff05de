"""HTTP routes: ``path("notifications/", include("notifications.urls"))``."""

from __future__ import annotations

from django.urls import path

from .web import views

app_name = "notifications"

urlpatterns = [
    path("", views.history, name="history"),
    path("bar/", views.bar, name="bar"),
    path("panel/", views.panel, name="panel"),
    path("panel/counts/", views.panel_counts, name="panel_counts"),
    path("read-all/", views.read_all, name="read_all"),
    path("unread/", views.unread_many, name="unread_many"),
    path("<int:pk>/read/", views.read, name="read"),
    path("<int:pk>/archive/", views.archive, name="archive"),
    path("<int:pk>/unread/", views.unread, name="unread"),
    path("<int:pk>/restore/", views.restore, name="restore"),
    path("<int:pk>/snooze/", views.snooze, name="snooze"),
    path("<int:pk>/open/", views.open_link, name="open"),
    path("<int:pk>/follow/", views.follow, name="follow"),
    path("<int:pk>/unfollow/", views.unfollow, name="unfollow"),
    path("preferences/", views.preferences_page, name="preferences"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]

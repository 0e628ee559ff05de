from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import styleguide, views

urlpatterns = [
    path("", views.home, name="home"),
    path("send/", views.send, name="send"),
    path("decide/<str:ref>/<str:choice>/", views.decide, name="decide"),
    path("styleguide/", styleguide.styleguide, name="styleguide"),
    path("tickets/", views.tickets, name="tickets"),
    path("tickets/<int:pk>/", views.TicketView.as_view(), name="ticket"),
    path("tickets/<int:pk>/comment/", views.comment, name="comment"),
    path("tickets/<int:pk>/follow/", views.follow_ticket, name="follow_ticket"),
    path("tickets/<int:pk>/delete/", views.delete_ticket, name="delete_ticket"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("notifications/", include("notifications.urls")),
    path("admin/", admin.site.urls),
]

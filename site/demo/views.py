"""The demo pages: the bar, a form to notify a chosen user or everyone, and tickets to follow."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django.views.generic import DetailView

from notifications import is_subscribed, notify, notify_all, notify_subscribers, resolve, subscribe, unsubscribe
from notifications.models import Level, Notification
from notifications.web.views import acting_tab
from notifications.web.visits import MarkReadMixin

from .models import Comment, Ticket

EVERYONE = "__all__"


class SendForm(forms.Form):
    recipient = forms.ChoiceField(label="To")
    message = forms.CharField(label="Message", max_length=1000)
    level = forms.ChoiceField(label="Level", choices=Level.choices, initial=Level.INFO)
    url = forms.CharField(label="Link (optional)", required=False)
    ask = forms.BooleanField(label="Ask for a decision (Approve / Decline buttons)", required=False)
    # One per rendered form: posting it twice (a double click, a retry) notifies once.
    key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["recipient"].choices = [
            (EVERYONE, "Everyone"),
            *((u.username, u.username) for u in users),
        ]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    form = SendForm(initial={"recipient": request.user.username, "key": uuid.uuid4().hex})
    return render(request, "demo/home.html", {"form": form})


@require_POST
@login_required
def send(request: HttpRequest) -> HttpResponse:
    form = SendForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        fields: dict[str, object] = {"level": data["level"], "url": data["url"], "key": data["key"]}
        if data["ask"]:
            ref = uuid.uuid4().hex
            fields["group_key"] = f"decision-{ref}"
            fields["actions"] = [
                {"label": label, "url": reverse("decide", args=[ref, choice])}
                for choice, label in (("approve", "Approve"), ("decline", "Decline"))
            ]
        try:
            if data["recipient"] == EVERYONE:
                notify_all(data["message"], **fields)
            else:
                notify(get_user_model().objects.get(username=data["recipient"]), data["message"], **fields)
        except ValueError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, "Sent.")
    else:
        messages.error(request, "Check the form: " + form.errors.as_text())
    return redirect("home")


@require_POST
@login_required
def decide(request: HttpRequest, ref: str, choice: str) -> HttpResponse:
    """Where a notification's Approve / Decline buttons post: the decision marks it read in every tab."""
    outcomes = {"approve": "Approved", "decline": "Declined"}
    if choice not in outcomes:
        raise Http404
    notification = Notification.objects.filter(recipient=request.user, group_key=f"decision-{ref}").first()
    if notification is None:
        raise Http404
    if not resolve(notification, outcomes[choice], tab=acting_tab(request)):  # answered already, here or in another tab
        return HttpResponse(f"Already answered: {notification.resolution}.", status=409)
    messages.success(request, f"You chose: {choice}.")
    return HttpResponse(status=204) if request.htmx else redirect("home")


# Tickets: the demo's thing to follow ----------------------------------------------------------------------


class TicketForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Ticket
        fields = ["title"]


class CommentForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Comment
        fields = ["body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}


@login_required
def tickets(request: HttpRequest) -> HttpResponse:
    """Every ticket, and a form to open one (its author follows it)."""
    form = TicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        ticket = form.save()
        subscribe(request.user, ticket)
        return redirect(ticket)
    return render(request, "demo/tickets.html", {"tickets": Ticket.objects.all(), "form": form})


class TicketView(MarkReadMixin, DetailView):  # type: ignore[type-arg]
    """A ticket and its comments; opening it reads the visitor's notifications about it (in every tab)."""

    model = Ticket
    template_name = "demo/ticket.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["following"] = is_subscribed(self.request.user, self.object)  # type: ignore[arg-type]
        context["form"] = CommentForm()
        return context


@require_POST
@login_required
def comment(request: HttpRequest, pk: int) -> HttpResponse:
    """Comment on a ticket: the commenter follows it, its other followers are notified (once, even if the
    form is posted twice: the comment's id is the key)."""
    ticket = get_object_or_404(Ticket, pk=pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        note = form.save(commit=False)
        note.ticket, note.author = ticket, request.user
        note.save()
        subscribe(request.user, ticket)
        notify_subscribers(
            ticket, kind="comment", actor=request.user, params={"excerpt": note.body[:80]}, key=f"comment:{note.pk}"
        )
    return redirect(ticket)


@require_POST
@login_required
def follow_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(Ticket, pk=pk)
    if request.POST.get("follow") == "1":
        subscribe(request.user, ticket)
    else:
        unsubscribe(request.user, ticket)
    return redirect(ticket)


@require_POST
@login_required
def delete_ticket(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a ticket: its notifications stay readable (its name, marked deleted), its followers go."""
    get_object_or_404(Ticket, pk=pk).delete()
    return redirect("tickets")

"""The demo page: the bar, and a form to notify a chosen user or everyone."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from notifications import notify, notify_all, resolve
from notifications.models import Level, Notification

EVERYONE = "__all__"


class SendForm(forms.Form):
    recipient = forms.ChoiceField(label="To")
    message = forms.CharField(label="Message", max_length=1000)
    level = forms.ChoiceField(label="Level", choices=Level.choices, initial=Level.INFO)
    url = forms.CharField(label="Link (optional)", required=False)
    ask = forms.BooleanField(label="Ask for a decision (Approve / Decline buttons)", required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        self.fields["recipient"].choices = [
            (EVERYONE, "Everyone"),
            *((u.username, u.username) for u in users),
        ]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/home.html", {"form": SendForm(initial={"recipient": request.user.username})})


@require_POST
@login_required
def send(request: HttpRequest) -> HttpResponse:
    form = SendForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        fields: dict[str, object] = {"level": data["level"], "url": data["url"]}
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
    if not resolve(notification, outcomes[choice], request=request):  # answered already, here or in another tab
        return HttpResponse(f"Already answered: {notification.resolution}.", status=409)
    messages.success(request, f"You chose: {choice}.")
    return HttpResponse(status=204) if request.htmx else redirect("home")

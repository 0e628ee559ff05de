"""Followers: users subscribe to any model instance, and ``notify_subscribers`` notifies them about it.

A subscription points at its object the way a notification's target does (content type + primary key as text).
When a followed object is deleted its subscriptions go with it: each model used as a target gets a
``post_delete`` receiver the first time this process follows or notifies about one of its objects, and
``prune_notifications`` removes what a process that never did (an admin host, a shell) left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from channels.db import database_sync_to_async
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.db.models.signals import post_delete

from ..live import delivery, pushes
from ..models import Notification, Subscription, ref
from . import UserPk
from .state import chunks
from .validation import clean_object, clean_target


def target_ref(obj: object) -> tuple[ContentType, str]:
    """``obj`` checked as a target (saved, allowed) and how rows point at it; watches it for deletion."""
    obj = clean_target(obj)
    watch(type(obj))
    return ref(obj)


def subscribe(user: AbstractBaseUser, obj: models.Model) -> bool:
    """``user`` follows ``obj``; True when they did not already."""
    content_type, pk = target_ref(obj)
    clean_object(user, field="user")
    try:
        with transaction.atomic():
            Subscription.objects.create(user_id=user.pk, target_type=content_type, target_id=pk)
    except IntegrityError:  # followed already (perhaps by a concurrent click)
        return False
    _show_in_bar(user.pk, content_type, pk)
    return True


def unsubscribe(user: AbstractBaseUser, obj: models.Model) -> bool:
    """``user`` stops following ``obj``; True when they did follow it."""
    content_type, pk = target_ref(obj)
    deleted, _ = Subscription.objects.filter(user_id=user.pk, target_type=content_type, target_id=pk).delete()
    if deleted:
        _show_in_bar(user.pk, content_type, pk)
    return deleted > 0


def is_subscribed(user: AbstractBaseUser, obj: models.Model) -> bool:
    """Does ``user`` follow ``obj``?"""
    content_type, pk = target_ref(obj)
    return Subscription.objects.filter(user_id=user.pk, target_type=content_type, target_id=pk).exists()


def followers(obj: models.Model) -> models.QuerySet[Subscription]:
    """The subscriptions to ``obj``."""
    content_type, pk = target_ref(obj)
    return Subscription.objects.filter(target_type=content_type, target_id=pk)


def following_among(user_ids: Sequence[UserPk], content_type_id: int, pk: str) -> set[UserPk]:
    """Which of ``user_ids`` follow the object (one query per 2,000 users)."""
    found: set[UserPk] = set()
    for chunk in chunks(user_ids):
        rows = Subscription.objects.filter(target_type_id=content_type_id, target_id=pk, user_id__in=chunk)
        found.update(rows.values_list("user_id", flat=True))
    return found


def prune_orphans() -> int:
    """Delete subscriptions whose object no longer exists (``prune_notifications``); returns how many."""
    deleted = 0
    for type_id in Subscription.objects.values_list("target_type", flat=True).distinct().order_by():
        model = ContentType.objects.get_for_id(type_id).model_class()
        rows = Subscription.objects.filter(target_type_id=type_id)
        if model is None:  # the model itself is gone
            deleted += rows.delete()[0]
            continue
        ids = list(rows.values_list("target_id", flat=True).distinct())
        for chunk in chunks(ids):
            found = model._default_manager.filter(pk__in=chunk).values_list("pk", flat=True)
            existing = {str(pk) for pk in found}
            deleted += rows.filter(target_id__in=[pk for pk in chunk if pk not in existing]).delete()[0]
    return deleted


def _show_in_bar(user_pk: UserPk, content_type: ContentType, pk: str) -> None:
    """After a follow or an unfollow: the user's tabs show it on their items about the object, if any."""
    items = Notification.objects.visible().active().filter(recipient_id=user_pk, target_type=content_type, target_id=pk)
    if items.exists():
        delivery.after_commit(partial(pushes.states, [user_pk]))


def watch(model: type[models.Model]) -> None:
    """Delete the subscriptions to ``model``'s objects when they are deleted (connected once per model)."""
    post_delete.connect(_forget, sender=model, weak=False, dispatch_uid=f"notifications.follow:{model._meta.label}")


def _forget(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    content_type, pk = ref(instance)
    Subscription.objects.filter(target_type=content_type, target_id=pk).delete()


async def asubscribe(user: AbstractBaseUser, obj: models.Model) -> bool:
    """Async :func:`subscribe`."""
    result: bool = await database_sync_to_async(subscribe)(user, obj)
    return result


async def aunsubscribe(user: AbstractBaseUser, obj: models.Model) -> bool:
    """Async :func:`unsubscribe`."""
    result: bool = await database_sync_to_async(unsubscribe)(user, obj)
    return result


async def ais_subscribed(user: AbstractBaseUser, obj: models.Model) -> bool:
    """Async :func:`is_subscribed`."""
    result: bool = await database_sync_to_async(is_subscribed)(user, obj)
    return result

"""The Notification row: the source of truth for everything the bar shows."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .store.validation import validate_actions, validate_url


class Level(models.TextChoices):
    INFO = "info", _("Information")
    SUCCESS = "success", _("Success")
    WARNING = "warning", _("Warning")
    ERROR = "error", _("Error")


class NotificationQuerySet(models.QuerySet["Notification"]):
    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)

    def read(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=False)

    def active(self) -> NotificationQuerySet:
        """Not archived (dismissed): what the bar shows."""
        return self.filter(archived_at__isnull=True)

    def archived(self) -> NotificationQuerySet:
        return self.filter(archived_at__isnull=False)

    def unseen(self) -> NotificationQuerySet:
        """Neither seen in an open panel nor read: what the badge counts (``BADGE_COUNTS``)."""
        return self.filter(seen_at__isnull=True, read_at__isnull=True)

    def awake(self) -> NotificationQuerySet:
        """Not snoozed, or its snooze is over: the bar shows it."""
        return self.filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=timezone.now()))

    def snoozed(self) -> NotificationQuerySet:
        """Snoozed until a time still to come: out of the bar until then."""
        return self.filter(snoozed_until__gt=timezone.now())

    def visible(self) -> NotificationQuerySet:
        """Not muted: what the bar shows and counts (muted rows stay in the history only)."""
        return self.filter(muted=False)

    def for_target(self, obj: models.Model) -> NotificationQuerySet:
        """Notifications about ``obj`` (any saved model instance)."""
        content_type, pk = ref(obj)
        return self.filter(target_type=content_type, target_id=pk)

    def for_actor(self, obj: models.Model) -> NotificationQuerySet:
        """Notifications whose actor is ``obj`` (a user or any other saved model instance)."""
        content_type, pk = ref(obj)
        return self.filter(actor_type=content_type, actor_id=pk)


def ref(obj: models.Model) -> tuple[ContentType, str]:
    """How rows point at ``obj``: its content type (cached per process) and its primary key as text."""
    return ContentType.objects.get_for_model(obj), str(obj.pk)


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    level = models.CharField(_("level"), max_length=10, choices=Level.choices, default=Level.INFO)
    title = models.CharField(_("title"), max_length=200, blank=True)
    message = models.TextField(_("message"))
    url = models.CharField(_("link"), max_length=500, blank=True, validators=[validate_url])
    # [{"label": "Approve", "url": "/builds/42/approve/"}, ...]: buttons that POST to the caller's URLs.
    actions = models.JSONField(_("actions"), default=list, blank=True, validators=[validate_actions])
    # Notifications with the same group key collapse into one unread item that counts.
    group_key = models.CharField(_("group key"), max_length=200, blank=True)
    group_count = models.PositiveIntegerField(_("count"), default=1)
    # Distinct actors of a grouped item, most recent first ("alice and 3 others ...").
    actors = models.JSONField(_("actors"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    # Last activity: equals created_at, moved forward when a grouped item collects another notification.
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    archived_at = models.DateTimeField(_("archived"), null=True, blank=True)
    # When an open panel showed it (the badge counts what nobody has seen yet; read stays per item).
    seen_at = models.DateTimeField(_("seen"), null=True, blank=True)
    # Out of the bar until then, when it comes back as new (its updated_at is set to this time, so it sorts as
    # the newest then; every open tab's process wakes it, no cron job).
    snoozed_until = models.DateTimeField(_("snoozed until"), null=True, blank=True)
    # The answer to an item's actions ("Approved"), set once by resolve(); the buttons give way to it.
    resolution = models.CharField(_("resolution"), max_length=200, blank=True)
    # A project-declared kind (NOTIFICATIONS["KINDS"]) or any short string; "" when the caller gave none.
    kind = models.CharField(_("kind"), max_length=50, blank=True, default="")
    # Decided once, when stored: the recipient had this kind off for the bar (or everything muted). A muted row
    # is never pushed, counted or shown in the bar; it stays in the history and may still be emailed.
    muted = models.BooleanField(_("muted"), default=False)
    # When a digest claimed this row (set before sending, so two hosts never email it twice).
    emailed_at = models.DateTimeField(_("emailed"), null=True, blank=True)
    # What it is about: any model instance (the primary key as text, so integer, UUID and string keys all work).
    target_type = models.ForeignKey(
        ContentType, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("target type")
    )
    target_id = models.CharField(_("target id"), max_length=255, blank=True, default="")
    target = GenericForeignKey("target_type", "target_id")
    # str(target) when stored: what the item shows once the target is deleted.
    target_name = models.CharField(_("target name"), max_length=200, blank=True, default="")
    # Who did it, when it is an object (a user, a bot...); its name is also the first of ``actors``.
    actor_type = models.ForeignKey(
        ContentType, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("actor type")
    )
    actor_id = models.CharField(_("actor id"), max_length=255, blank=True, default="")
    actor = GenericForeignKey("actor_type", "actor_id")
    # The named parameters of the kind's message template, rendered in each reader's language.
    params = models.JSONField(_("parameters"), default=dict, blank=True)

    objects = NotificationQuerySet.as_manager()

    #: Set on loaded rows by ``state.annotate``: the recipient follows the target (the item offers "Unfollow").
    following = False

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # "latest N" in the bar and the history page: dismissed rows are not in it, so it skips none.
            models.Index(
                fields=["recipient", "-updated_at", "-id"],
                condition=Q(archived_at__isnull=True),
                name="notif_recipient_latest",
            ),
            # "unread count": a partial index holding unread rows only, so it stays small.
            models.Index(fields=["recipient"], condition=Q(read_at__isnull=True), name="notif_recipient_unread"),
            # The history's Archive tab, newest first (the index above holds no archived row).
            models.Index(
                fields=["recipient", "-updated_at", "-id"],
                condition=Q(archived_at__isnull=False),
                name="notif_recipient_archived",
            ),
            # "unseen count": the badge's.
            models.Index(
                fields=["recipient"],
                condition=Q(seen_at__isnull=True, read_at__isnull=True),
                name="notif_recipient_unseen",
            ),
            # The next snooze to end, per user.
            models.Index(
                fields=["recipient", "snoozed_until"],
                condition=Q(snoozed_until__isnull=False),
                name="notif_recipient_snoozed",
            ),
            # Finding the open group a new notification joins.
            models.Index(
                fields=["recipient", "group_key"],
                condition=Q(read_at__isnull=True) & ~Q(group_key=""),
                name="notif_recipient_group",
            ),
            # prune_notifications.
            models.Index(fields=["read_at"], condition=Q(read_at__isnull=False), name="notif_read_at"),
            # for_target() and mark_read_for().
            models.Index(fields=["target_type", "target_id", "recipient"], name="notif_target"),
            # send_digests: the rows still waiting for an email, oldest first.
            models.Index(
                fields=["created_at"],
                condition=Q(read_at__isnull=True, emailed_at__isnull=True),
                name="notif_digest_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_level_display()}: {self.title or self.text[:60]}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Links are checked on every way in, also objects.create() and save() from a project's own code:
        # rendered into href and form actions, an unsafe one would send users off-site or run script.
        validate_url(self.url)
        validate_actions(self.actions)
        super().save(*args, **kwargs)

    def shown(self) -> tuple[Any, ...]:
        """Everything an item shows except its id: what render-once and the bar's state version compare."""
        return (
            self.kind,
            self.level,
            self.title,
            self.message,
            self.url,
            repr(self.actions),
            self.group_key,
            self.group_count,
            repr(self.actors),
            self.created_at,
            self.updated_at,
            self.read_at,
            self.archived_at,
            self.resolution,
            self.target_type_id,
            self.target_id,
            self.target_label,
            self.target_gone,
            self.following,
            repr(self.params),
        )

    @property
    def text(self) -> str:
        """The sentence: the caller's ``message`` as given, else its kind's template in the active language."""
        if self.message:
            return self.message
        from .store.kinds import get_kind

        actor = self.actors[0] if self.actors else ""
        values = {**self.params, "actor": actor, "target": self.target_label, "count": self.others_count}
        return get_kind(self.kind).render_message(values)

    @property
    def target_label(self) -> str:
        """The target's current name (its stored name once it is gone); "" without a target."""
        if not self.target_id:
            return ""
        target = self.target
        return self.target_name if target is None else str(target)[:200]

    @property
    def target_gone(self) -> bool:
        """It was about an object that has since been deleted."""
        return bool(self.target_id) and self.target is None

    @property
    def link(self) -> str:
        """Where the item leads: its ``url``, else its target's ``get_absolute_url()``; "" once the target is gone."""
        if self.target_gone:
            return ""
        if self.url:
            return self.url
        get_url = getattr(self.target, "get_absolute_url", None)
        return str(get_url()) if get_url is not None else ""

    @property
    def item_template(self) -> str:
        """The partial this notification renders with: its kind's, else the default item partial."""
        from .store.kinds import item_template

        return item_template(self.kind)

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def others_count(self) -> int:
        """How many actors besides the latest one ("alice and 3 others")."""
        return max(len(self.actors) - 1, 0)


class Preferences(models.Model):
    """One user's choices. A kind missing from ``bar``/``email`` follows the kind's default from settings."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="notification_preferences",
        verbose_name=_("user"),
    )
    # {"comment": false, ...}: only the kinds the user changed, so new defaults reach everyone else.
    bar = models.JSONField(_("in the bar"), default=dict, blank=True)
    email = models.JSONField(_("by email"), default=dict, blank=True)
    # The email digest as a whole (the unsubscribe link turns this off).
    digest = models.BooleanField(_("email digest"), default=True)
    muted_until = models.DateTimeField(_("muted until"), null=True, blank=True)
    # The reader's own choice; "" follows their browser (see notifications.store.readers).
    language = models.CharField(_("language"), max_length=15, blank=True, default="")
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, default="")
    # The language of their last page view: frames and emails sent while they are away use it.
    seen_language = models.CharField(_("last seen language"), max_length=15, blank=True, default="")
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification preferences")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user}"


class Subscription(models.Model):
    """A user follows an object: :func:`notifications.notify_subscribers` notifies them about it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_subscriptions",
        verbose_name=_("user"),
    )
    target_type = models.ForeignKey(ContentType, models.CASCADE, related_name="+", verbose_name=_("target type"))
    target_id = models.CharField(_("target id"), max_length=255)
    target = GenericForeignKey("target_type", "target_id")
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.UniqueConstraint(fields=["target_type", "target_id", "user"], name="notif_subscription_unique"),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="notif_subscription_user")]

    def __str__(self) -> str:
        return f"{self.user} \N{RIGHTWARDS ARROW} {self.target or self.target_id}"


class SentKey(models.Model):
    """One ``notify(..., key=...)`` per recipient and key until ``expires_at``: the unique constraint makes a
    second caller's insert a no-op, also when both run at once (a retried task, a double-clicked form)."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    expires_at = models.DateTimeField()
    # The call that inserted it (its other rows are someone else's).
    token = models.CharField(max_length=32)
    notification = models.ForeignKey(Notification, models.CASCADE, null=True, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["recipient", "key"], name="notif_sentkey_unique")]
        indexes = [models.Index(fields=["expires_at"], name="notif_sentkey_expires")]

    def __str__(self) -> str:
        return f"{self.key} \N{RIGHTWARDS ARROW} {self.recipient_id}"

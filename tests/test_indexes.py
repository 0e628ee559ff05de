"""The bar's two hot queries stay index scans with 100,000 notifications for one user."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from notifications.models import Notification
from notifications.store.state import load_state

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 100_000


@pytest.fixture
def crowded(alice: Any, bob: Any) -> Any:
    now = timezone.now()
    for user in (alice, bob):
        Notification.objects.bulk_create(
            (
                Notification(
                    recipient=user,
                    message=f"n{i}",
                    created_at=now,
                    updated_at=now,
                    read_at=None if i % 50 == 0 else now,
                )
                for i in range(ROWS // 2)
            ),
            batch_size=5000,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return alice


def plans(user: Any) -> dict[str, str]:
    qs = Notification.objects.filter(recipient=user)
    return {
        "unread count": qs.unread().order_by().values("recipient").annotate(n=Count("id")).explain(),
        "latest N": qs.active()[:10].explain(),
    }


def test_hot_queries_are_index_scans(crowded: Any) -> None:
    """On PostgreSQL (DATABASE_URL) and SQLite alike; the plans print with -s."""
    found = plans(crowded)
    print("\n".join(f"-- {name} ({connection.vendor})\n{plan}" for name, plan in found.items()))
    assert "notif_recipient_unread" in found["unread count"]
    assert "notif_recipient_latest" in found["latest N"]
    full_scan = "Seq Scan" if connection.vendor == "postgresql" else "SCAN notifications_notification"
    assert full_scan not in "".join(found.values())
    assert load_state(crowded).unread_count == ROWS // 2 // 50

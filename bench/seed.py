"""Create N bench users and one logged-in session each, in bulk; write the cookies for the load generator.

Usage (Django env set): python -m bench.seed N OUT.json
"""

from __future__ import annotations

import json
import sys

import django


def main(n: int, out: str) -> None:
    django.setup()
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    User = get_user_model()
    existing = set(User.objects.filter(username__startswith="bench-").values_list("username", flat=True))
    User.objects.bulk_create(
        [User(username=f"bench-{i:05d}", password="!bench") for i in range(n) if f"bench-{i:05d}" not in existing],
        batch_size=1000,
    )
    users = list(User.objects.filter(username__startswith="bench-").order_by("username")[:n])
    store = SessionStore()
    expire = timezone.now() + timedelta(days=7)
    rows, cookies = [], []
    backend = "django.contrib.auth.backends.ModelBackend"
    for user in users:
        key = store._get_new_session_key()
        data = {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": backend,
            "_auth_user_hash": user.get_session_auth_hash(),
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expire))
        cookies.append({"uid": user.pk, "cookie": f"{settings.SESSION_COOKIE_NAME}={key}"})
    Session.objects.bulk_create(rows, batch_size=1000)
    with open(out, "w") as f:
        json.dump(cookies, f)
    print(f"seeded {len(cookies)} users/sessions -> {out}")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])

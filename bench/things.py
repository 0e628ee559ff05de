"""What following a thing and per-reader languages cost a ``notify()`` to 1,000 users, as ratios in one run.

Usage: ``python -m bench.things [--users 1000] [--reps 15] [--json PATH] [--profile DIR]``

The same set-up as ``bench.calls`` (a private redis-server, a fresh SQLite database with the bench users, the
RedisPubSubChannelLayer). Then one process, pinned to the core the server under test gets in ``bench`` (redis
has the other), makes two sets of ``--users`` users, each following its own Ticket: the "mixed" set reads in
en/de/ar (a third each), the "single" set in one language (``--language``, "en"). It times four cases, all
kind "comment" (its message rendered from the kind's translated template with ``params``) by a user outside
both sets:

- ``notify_subscribers``: ``notify_subscribers(ticket, actor=..., kind=, params=)`` to the mixed set;
- ``notify(qs)``: ``notify(<queryset of the same users>, target=ticket, ...)``: pair 1, target 1.2x;
- ``3 languages``: the same ``notify(qs)`` call (mixed set) and ``1 language``: to the single set: pair 2,
  target 1.3x, for the whole call and for the push (the time in ``pushes.new_items``, which the commit runs
  on the caller's thread in autocommit mode).

Each repetition runs both pairs, A then B, B then A on the next (drift hits both alike), with the rows of
the previous call deleted and a ``gc.collect()`` before every call, outside the timing ("comment" groups by
target: left in place, a later call would count up the earlier rows instead of inserting). Per call it also
records the stages (``new_items``; within it ``counts``, ``shared frame`` (``rendering._shared_new_frame``),
``render`` (every template render, nested in it) and ``send``, the publish),
how many times ``rendering._shared_new_frame`` ran (one per distinct language), the templates rendered and the
channel-layer messages sent (one broadcast per language from 50 recipients on).
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from .common import PY, ROOT, SERVER_CPU, Redis, django_env, pinned, setup_db

LANGUAGES = ("en", "de", "ar")
PAIRS = (
    ("notify_subscribers", "notify(qs)", 1.2, ("wall",)),
    ("3 languages", "1 language", 1.3, ("wall", "new_items")),
)
STAGES = ("wall", "new_items", "counts", "shared_frame", "render", "send")
COUNTS = ("shared_renders", "templates", "messages", "rows")
#: A case whose p90 is this many times its median was disturbed (quiet runs: 1.03-1.1).
NOISY = 1.25


def child(opts: argparse.Namespace) -> None:
    import django

    django.setup()
    from demo.models import Ticket
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from notifications.live import delivery, pushes
    from notifications.models import Notification, Preferences
    from notifications.store import api
    from notifications.store.subscriptions import subscribe
    from notifications.web import rendering

    spent: defaultdict[str, float] = defaultdict(float)
    calls: defaultdict[str, int] = defaultdict(int)

    def wrap(owner: Any, name: str, stage: str | None, count: str | None = None, size: bool = False) -> None:
        func = getattr(owner, name)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if count:
                calls[count] += len(args[0]) if size else 1
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                if stage:
                    spent[stage] += time.perf_counter() - start

        setattr(owner, name, wrapper)

    # Module attributes, looked up when called: api's partial(pushes.new_items, ...) is made at each call, and
    # rendering calls its own globals.
    wrap(pushes, "new_items", "new_items")
    wrap(pushes, "unread_counts", "counts")
    wrap(rendering, "_shared_new_frame", "shared_frame", "shared_renders")
    wrap(rendering, "render_to_string", "render", "templates")  # every template render (count parts are cached)
    wrap(delivery, "send", "send", "messages", size=True)  # pushes pass a list of (group, message)

    User = get_user_model()
    users = list(User._default_manager.filter(username__startswith="bench-").order_by("pk"))
    n = opts.users
    if len(users) < 2 * n + 1:
        raise RuntimeError(f"{len(users)} bench users, {2 * n + 1} needed")
    mixed, single, actor = users[:n], users[n : 2 * n], users[2 * n]
    ticket_mixed = Ticket.objects.create(title="Followed by readers of three languages")
    ticket_single = Ticket.objects.create(title="Followed by readers of one language")
    with transaction.atomic():
        for user in mixed:
            subscribe(user, ticket_mixed)
        for user in single:
            subscribe(user, ticket_single)
        Preferences.objects.bulk_create(
            [Preferences(user_id=u.pk, language=LANGUAGES[i % len(LANGUAGES)]) for i, u in enumerate(mixed)]
            + [Preferences(user_id=u.pk, language=opts.language) for u in single]
        )

    def queryset(group: list[Any]) -> Any:
        # The cheapest queryset of exactly these users (their pks are consecutive): the stricter denominator.
        first, last = group[0].pk, group[-1].pk
        assert last - first == len(group) - 1, "bench users' pks are not consecutive"
        return User._default_manager.filter(pk__range=(first, last))

    fields = {"actor": actor, "kind": "comment", "params": {"excerpt": "Looks good to me, merging after the release."}}
    mixed_qs, single_qs = queryset(mixed), queryset(single)
    cases = {
        "notify_subscribers": lambda: api.notify_subscribers(ticket_mixed, **fields),
        "notify(qs)": lambda: api.notify(mixed_qs, target=ticket_mixed, **fields),
        "3 languages": lambda: api.notify(mixed_qs, target=ticket_mixed, **fields),
        "1 language": lambda: api.notify(single_qs, target=ticket_single, **fields),
    }

    def run(name: str, profiler: Any = None) -> dict[str, float]:
        Notification.objects.all().delete()  # no row of an earlier call to count up or to slow the inserts
        gc.collect()
        spent.clear()
        calls.clear()
        if profiler is not None:
            profiler.enable()
        start = time.perf_counter()
        rows = cases[name]()
        wall = time.perf_counter() - start
        if profiler is not None:
            profiler.disable()
        counted = {c: calls[c] for c in COUNTS if c != "rows"}
        return {**{s: spent[s] for s in STAGES[1:]}, "wall": wall, **counted, "rows": len(rows)}

    for _ in range(opts.warmup):  # languages' catalogues, templates, the delivery loop and its connection
        for name in cases:
            run(name)
    raw: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    for rep in range(opts.reps):
        for a, b, _target, _metrics in PAIRS:
            for name in (a, b) if rep % 2 == 0 else (b, a):
                raw[name].append(run(name))
    profiles = {}
    if opts.profile:
        import cProfile
        import pstats

        out = Path(opts.profile)
        out.mkdir(parents=True, exist_ok=True)
        for name in cases:
            profiler = cProfile.Profile()
            for _ in range(opts.profile_calls):
                run(name, profiler)
            path = out / f"things-{name.replace(' ', '-').replace('(', '-').replace(')', '')}.pstats"
            profiler.dump_stats(path)
            profiles[name] = str(path)
            stats = pstats.Stats(profiler, stream=sys.stderr)
            print(f"\n===== {name}: {opts.profile_calls} calls, by cumulative time", file=sys.stderr)
            stats.sort_stats("cumulative").print_stats(40)
            print(f"===== {name}: by own time", file=sys.stderr)
            stats.sort_stats("tottime").print_stats(25)
    Notification.objects.all().delete()
    print(json.dumps({"raw": raw, "profiles": profiles}), flush=True)


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median": statistics.median(ordered),
        "p90": ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
        "min": ordered[0],
    }


def report(raw: dict[str, list[dict[str, float]]], opts: argparse.Namespace) -> tuple[str, dict[str, Any], bool]:
    stats = {name: {s: summary([r[s] for r in rows]) for s in STAGES} for name, rows in raw.items()}
    lines = [
        f"{opts.users} recipients per call, {opts.reps} repetitions per case (ms; medians of the stages)",
        "",
        "| case | median | p90 | min | new_items | counts | shared frame | render | send | "
        "shared renders/call | templates/call | messages/call |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in raw.items():
        s = stats[name]
        per_call = " | ".join(_per_call([r[c] for r in rows]) for c in ("shared_renders", "templates", "messages"))
        lines.append(
            f"| {name} | {s['wall']['median'] * 1e3:.1f} | {s['wall']['p90'] * 1e3:.1f} | {s['wall']['min'] * 1e3:.1f}"
            f" | {s['new_items']['median'] * 1e3:.2f} | {s['counts']['median'] * 1e3:.2f}"
            f" | {s['shared_frame']['median'] * 1e3:.2f} | {s['render']['median'] * 1e3:.2f}"
            f" | {s['send']['median'] * 1e3:.2f} | {per_call} |"
        )
    lines += [
        "",
        "| pair | measured | ratio of medians | median of paired ratios | target | |",
        "|---|---|---|---|---|---|",
    ]
    ratios: dict[str, Any] = {}
    all_met = True
    for a, b, target, metrics in PAIRS:
        for metric in metrics:
            ratio = stats[a][metric]["median"] / stats[b][metric]["median"]
            # The same repetition's A over its B (run one after the other): less exposed to drift.
            paired = statistics.median(x[metric] / y[metric] for x, y in zip(raw[a], raw[b], strict=True))
            met = ratio <= target
            all_met &= met
            what = "notify() call" if metric == "wall" else "push (pushes.new_items)"
            ratios[f"{a} / {b}: {metric}"] = {"ratio": ratio, "paired": paired, "target": target, "met": met}
            verdict = "met" if met else "**not met**"
            lines.append(f"| {a} / {b} | {what} | {ratio:.2f} | {paired:.2f} | {target} | {verdict} |")
    noisy = [name for name, s in stats.items() if s["wall"]["p90"] > NOISY * s["wall"]["median"]]
    if noisy:
        lines += ["", f"NOISY RUN: p90 > {NOISY}x the median for {', '.join(noisy)} (another process ran?): rerun."]
    return "\n".join(lines), {"stats": stats, "ratios": ratios, "noisy": noisy}, all_met


def _per_call(values: list[float]) -> str:
    distinct = sorted(set(values))
    return "/".join(f"{v:g}" for v in distinct)


def check_renders(raw: dict[str, list[dict[str, float]]], users: int) -> list[str]:
    """Every call stored a row per recipient; one shared new-item frame and one broadcast message per language."""
    expected = {"3 languages": len(LANGUAGES), "1 language": 1}
    problems = [
        f"{name}: {sorted({r['rows'] for r in rows})} rows per call, expected {users}"
        for name, rows in raw.items()
        if any(r["rows"] != users for r in rows)
    ]
    for name, want in expected.items():
        for what in ("shared_renders", "messages"):
            got = {r[what] for r in raw[name]}
            if got != {want}:
                problems.append(f"{name}: {what} per call {sorted(got)}, expected {want}")
    return problems


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--users", type=int, default=1000, help="recipients per call (and followers of each ticket)")
    p.add_argument("--reps", type=int, default=15)
    p.add_argument("--warmup", type=int, default=3, help="untimed rounds of every case first")
    p.add_argument("--language", default="en", help="the single-language set's language")
    p.add_argument("--json", help="write the raw numbers (seconds) and the summary here")
    p.add_argument("--profile", metavar="DIR", help="then cProfile --profile-calls calls of each case into DIR")
    p.add_argument("--profile-calls", type=int, default=10)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    opts = p.parse_args()
    if opts.child:
        child(opts)
        return
    work = Path(tempfile.mkdtemp(prefix="nbthings-"))
    redis = Redis(work)
    try:
        env = django_env(work, redis.url)
        setup_db(work, redis.url, 2 * opts.users + 1)
        args = [PY, "-m", "bench.things", "--child", *sys.argv[1:]]
        out = subprocess.run(pinned(SERVER_CPU, args), env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    finally:
        redis.stop()
    if out.stderr.strip():
        (work / "child.err").write_text(out.stderr)
        if opts.profile:
            print(out.stderr)
    result = json.loads(out.stdout.splitlines()[-1])
    table, summarised, all_met = report(result["raw"], opts)
    problems = check_renders(result["raw"], opts.users)
    print(table)
    print()
    if not problems:
        print("render counts as expected: 3 languages: 3 shared renders and 3 messages a call; 1 language: 1 and 1")
    if opts.json:
        Path(opts.json).write_text(
            json.dumps({"options": vars(opts), **result, **summarised, "problems": problems}, indent=1)
        )
    if problems:
        sys.exit("unexpected render counts:\n  " + "\n  ".join(problems))
    if not all_met:
        print("a target is not met", file=sys.stderr)


if __name__ == "__main__":
    main()

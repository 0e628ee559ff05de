"""The chaos soak's short form (bench/chaos.py): two server processes behind HAProxy, 100 sockets, a notification
every 100 ms, and one fault of each kind the machine allows, 10-12 s apart; nothing missing, no tab stale for
longer than 15 s, every tab's bar the database's at the end.

Real processes (uvicorn, HAProxy, redis-server; PostgreSQL and Redis Sentinel when their binaries are here) and
no browser: the sockets are bench.fleet_client's, reconnecting as the htmx ws extension does. About 90 s.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# The sockets and process helpers of bench/ need the "bench" extra's picows and psutil.
pytest.importorskip("picows")
pytest.importorskip("psutil")

from bench import chaos
from testing.postgres import binaries

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]


def available_faults() -> tuple[list[str], list[str]]:
    """The fault kinds this machine can run, and the options that switch on their infrastructure: Sentinel
    needs only redis-server (``redis-server --sentinel``), PostgreSQL Debian's server binaries."""
    kinds, flags = ["kill-server", "restart-redis", "stop-redis", "failover"], ["--sentinel"]
    if binaries() is not None:
        kinds.append("restart-postgres")
        flags.append("--postgres")
    return kinds, flags


def test_every_tab_converges_through_every_fault(tmp_path: Path) -> None:
    if shutil.which("haproxy") is None:
        pytest.fail("haproxy is not installed (scripts/test.sh installs it from Debian's packages)")
    kinds, flags = available_faults()
    # One fault of each kind, 10-12 s apart; notifications go on for 10 s after the last one.
    args = ["--clients", "100", "--minutes", "0", "--min-faults", str(len(kinds)), "--rate", "10"]
    args += ["--every", "10:12", "--tail", "10", "--final-wait", "20", "--faults", ",".join(kinds)]
    opts = chaos.options([*args, "--out", str(tmp_path), *flags])
    raw = chaos.run(opts)
    report = chaos.analyse(raw)
    chaos.write_md(raw, report, opts, tmp_path / "chaos.md", "tests/test_chaos.py")
    print((tmp_path / "chaos.md").read_text())  # shown when the test fails: every fault, every stale tab
    ran = sorted({r["kind"] for r in report["faults"]} - {"no fault"})
    summary = f"see the captured stdout, or {tmp_path / 'chaos.md'} and {raw['work']}"

    assert ran == sorted(kinds), summary
    assert report["stored"] > 0
    assert report["missing"] == 0, (report["missing_sample"], summary)
    assert report["stale_tabs"] == 0, summary
    assert report["no_socket"] == [] and report["bar_differs"] == [], summary
    assert report["phantom"] == 0 and report["pk_unseen"] == 0, summary
    assert all(r["converged_s"] is not None for r in report["faults"]), summary

"""Bench-only settings: the demo settings plus a switch for the channel layer.

BENCH_LAYER=pubsub (default) -> channels_redis.pubsub.RedisPubSubChannelLayer (what the product ships)
BENCH_LAYER=core             -> channels_redis.core.RedisChannelLayer
Run with PYTHONPATH=site:. and DJANGO_SETTINGS_MODULE=bench.settings.
"""

from __future__ import annotations

import os

from demo.settings import *  # noqa: F403

DEBUG = False
_layer = os.environ.get("BENCH_LAYER", "pubsub")
_url = os.environ.get("REDIS_URL", "")
# A Sentinel-managed master named by the demo's settings (bench/chaos.py --sentinel): keep their host entry.
_demo_hosts = CHANNEL_LAYERS["default"].get("CONFIG", {}).get("hosts", [])  # noqa: F405
_hosts = [h for h in _demo_hosts if isinstance(h, dict) and "sentinels" in h] or [_url]
if _layer == "core":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # capacity: the default (100) drops frames when a burst outruns one consumer; raise it so a gap
            # is a real loss, not a tiny buffer.
            "CONFIG": {"hosts": _hosts, "prefix": "nbc", "capacity": 1000, "expiry": 120},
        }
    }
elif _layer == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": _hosts, "prefix": "nbp"},
        }
    }
else:
    raise RuntimeError(f"BENCH_LAYER must be core or pubsub, not {_layer!r}")

# The load is on the sockets; keep request/worker noise out of the server's log.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "notifications": {"handlers": ["console"], "level": "WARNING", "propagate": False},  # once, not twice
        # bench.restart waits for daphne's "Listening on ..." line (INFO) to know a process serves its socket.
        "daphne.server": {"handlers": ["console"], "level": os.environ.get("BENCH_DAPHNE_LOG", "WARNING")},
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
}

"""Benchmark and soak test for the notification bar (``python -m bench``, ``python -m bench.soak``)."""

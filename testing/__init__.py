"""Test infrastructure shared by tests/, e2e/, bench/ and scripts/: real processes, mail, HTML queries.

Nothing here is a test, and nothing here ships in the wheel."""

"""The store and its API: notify() and the other calls, a bar's state, kinds, preferences, subscriptions,
idempotent keys, readers and validation."""

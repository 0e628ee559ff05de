"""The live path: the WebSocket consumer, the per-process router and its watchdog, the channel-layer protocol,
delivery after commit, and socket authentication."""

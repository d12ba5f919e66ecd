"""Deliveries (one per post target), the dispatcher that publishes them exactly once, and the
attempt log that proves it."""

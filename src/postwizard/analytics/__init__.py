"""Engagement tracking: metric collection, snapshots, aggregates, best time to post."""

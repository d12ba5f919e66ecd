"""Growth: goals, challenges, posting streaks and badges, all recomputed from published data."""

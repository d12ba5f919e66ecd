"""Posts: base content, one target per account, schedule, approvals, comments and activity."""

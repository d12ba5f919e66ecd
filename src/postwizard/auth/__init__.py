"""Users, login sessions, API tokens, CSRF and the caller's identity."""

"""Test support: real PostgreSQL and Redis servers started from installed binaries."""

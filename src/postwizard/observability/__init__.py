"""Structured logs, Prometheus metrics and request ids."""

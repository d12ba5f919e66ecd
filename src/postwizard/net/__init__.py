"""Outgoing network access: the guard on URLs people give."""

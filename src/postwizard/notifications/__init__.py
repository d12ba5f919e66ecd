"""Notifications: an in-app feed, email and signed outbound webhooks, fed by the event bus."""

"""Workspaces, their members and roles, and invitations by link."""

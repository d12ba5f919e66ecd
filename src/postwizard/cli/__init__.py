"""The `postwizard` command."""

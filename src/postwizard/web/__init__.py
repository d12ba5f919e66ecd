"""Serves the built single-page app (SvelteKit, adapter-static) at `/`."""

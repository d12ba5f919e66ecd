"""AI captions: model providers and the built-in offline assistant, fitted to every network."""

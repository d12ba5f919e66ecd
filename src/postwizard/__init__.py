"""PostWizard: a self-hosted social media manager."""

__version__ = "0.1.0"

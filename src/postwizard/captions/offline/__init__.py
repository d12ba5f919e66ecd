"""The built-in offline assistant (see `assistant.py`)."""

from postwizard.captions.offline.assistant import OfflineAssistant

__all__ = ["OfflineAssistant"]

"""The sandbox network: a simulated social network with its own store, audience and faults.

PostWizard publishes to it over real HTTP exactly as to a remote network. It has no
idempotency, so its record (`GET /v1/_record`) shows any post that was sent twice.
"""

from postwizard.sandbox.app import close_sandbox_app, create_sandbox_app
from postwizard.sandbox.faults import FaultConfig
from postwizard.sandbox.ratelimit import RateLimit

__all__ = ["FaultConfig", "RateLimit", "close_sandbox_app", "create_sandbox_app"]

"""The e2e tests use the integration fixtures: the service running with its real lifespan."""

from tests.assistance.integration.conftest import service, settings

__all__ = ["service", "settings"]

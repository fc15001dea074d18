"""Fixtures shared by the integration tests."""

# The networking tests' fixtures (real privsep daemon, OVS bridges, booted
# instances); see network_support.py.
from tests.integration.network_support import booted  # noqa: F401
from tests.integration.network_support import bridge  # noqa: F401
from tests.integration.network_support import env  # noqa: F401

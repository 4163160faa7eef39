"""Identity services for data subject request tests (same fixture as tests/identity)."""

from tests.identity.conftest import identity  # noqa: F401 - a fixture

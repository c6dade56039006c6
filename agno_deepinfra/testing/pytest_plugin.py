"""pytest plugin (entry point `pytest11`): the `deepinfra_emulator` fixture.

One emulator per test session, started the first time a test asks for it and reset before each
test. Only pytest is imported here, so loading the plugin costs nothing for suites that never use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from agno_deepinfra.testing.emulator import DeepInfraEmulator


@pytest.fixture(scope="session")
def deepinfra_emulator_session() -> Iterator[DeepInfraEmulator]:
    """The session-wide emulator (started lazily, stopped at the end of the session)."""
    from agno_deepinfra.testing.emulator import DeepInfraEmulator

    with DeepInfraEmulator() as emulator:
        yield emulator


@pytest.fixture
def deepinfra_emulator(deepinfra_emulator_session: DeepInfraEmulator) -> DeepInfraEmulator:
    """A running `DeepInfraEmulator`, reset (queues, rules, request log) for this test."""
    deepinfra_emulator_session.reset()
    return deepinfra_emulator_session

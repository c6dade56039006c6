"""pytest plugin (entry point `pytest11`): the `deepinfra_emulator` and `deepinfra_model` fixtures.

One emulator per test session, started the first time a test asks for it and reset before each
test. Loading the plugin imports pytest and this package's two lazy `__init__` modules only (about
1 ms), so it costs nothing for suites that never use it: the emulator's modules are imported by the
first fixture that needs them, agno and openai inside the model fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from agno_deepinfra.chat import DeepInfra
    from agno_deepinfra.testing.emulator import DeepInfraEmulator

# The chat model `deepinfra_model` uses unless given another `id`: in the emulator's catalog, with tools and JSON.
DEFAULT_TEST_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"


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


@pytest.fixture
def make_deepinfra_model(deepinfra_emulator: DeepInfraEmulator) -> Callable[..., DeepInfra]:
    """A factory of `DeepInfra` models aimed at this test's emulator: `make_deepinfra_model(id=..., **kwargs)`.

    `base_url` and `api_key` point at the emulator; `id` defaults to `DEFAULT_TEST_MODEL`; every
    other keyword goes to `DeepInfra` unchanged (and may override those defaults).
    """
    from agno_deepinfra.chat import DeepInfra

    def make(**kwargs: Any) -> DeepInfra:
        kwargs.setdefault("id", DEFAULT_TEST_MODEL)
        kwargs.setdefault("base_url", deepinfra_emulator.base_url)
        kwargs.setdefault("api_key", deepinfra_emulator.api_key)
        return DeepInfra(**kwargs)

    return make


@pytest.fixture
def deepinfra_model(make_deepinfra_model: Callable[..., DeepInfra]) -> DeepInfra:
    """A `DeepInfra` chat model (`DEFAULT_TEST_MODEL`) served by the reset `deepinfra_emulator`."""
    return make_deepinfra_model()

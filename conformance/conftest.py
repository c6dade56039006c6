"""Conformance: DeepInfra clients that nobody here wrote, pointed at the emulator on 127.0.0.1.

Each client is aimed at the emulator through its own base-URL option or environment variable
(see README, "Conformance"); the keys are the emulator's. Nothing here reaches the internet:
pytest-socket allows loopback only (pytest.ini), and LiteLLM is told to use its bundled cost map.
"""

from __future__ import annotations

import os

import pytest

# Before any client is imported: LiteLLM would otherwise fetch its model cost map at import, and
# fetch a Hugging Face tokenizer to count a stream's tokens (retrying for ~20 s against the socket
# guard); offline, it falls back to its bundled tokenizer at once.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["HF_HUB_OFFLINE"] = "1"

from agno_deepinfra.testing import DeepInfraEmulator

CHAT_MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct"  # tagged "tools" in the emulator's catalog
UNTAGGED_MODEL = "meta-llama/Llama-2-70b-chat-hf"  # no tags: not a tool-calling model
EMBEDDING_MODEL = "BAAI/bge-m3"
RERANKER = "Qwen/Qwen3-Reranker-0.6B"


@pytest.fixture
def emu(deepinfra_emulator: DeepInfraEmulator) -> DeepInfraEmulator:
    """The package's own pytest fixture: one emulator on 127.0.0.1 per session, reset for this test."""
    return deepinfra_emulator


@pytest.fixture(autouse=True)
def _no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may pick up a real key (or base URL) from the environment."""
    for name in ("DEEPINFRA_API_KEY", "DEEPINFRA_API_TOKEN", "DEEPINFRA_API_BASE", "DEEPINFRA_BASE_URL"):
        monkeypatch.delenv(name, raising=False)

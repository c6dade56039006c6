"""The chat model: `DeepInfra` (agno's provider table names `agno_deepinfra.chat.DeepInfra`)."""

from agno_deepinfra.chat.model import DeepInfra

__all__ = ["DeepInfra"]

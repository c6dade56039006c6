"""agno-deepinfra: DeepInfra for the agno agent framework."""

from importlib.metadata import PackageNotFoundError, version

from agno_deepinfra._errors import DeepInfraContextWindowError, DeepInfraError, DeepInfraRateLimitError
from agno_deepinfra.catalog import ModelInfo, ModelPricing, alist_models, list_models
from agno_deepinfra.chat import DeepInfra
from agno_deepinfra.model_strings import register, unregister

try:
    __version__ = version("agno-deepinfra")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "DeepInfra",
    "DeepInfraContextWindowError",
    "DeepInfraError",
    "DeepInfraRateLimitError",
    "ModelInfo",
    "ModelPricing",
    "__version__",
    "alist_models",
    "list_models",
    "register",
    "unregister",
]

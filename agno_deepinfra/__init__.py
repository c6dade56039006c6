"""agno-deepinfra: DeepInfra for the agno agent framework.

Names are imported on first use, so `import agno_deepinfra` (and the pytest plugin, which every
pytest run in an environment with this package loads) does not pay for importing agno.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from agno_deepinfra._shared import compat

compat.install()  # pickles written before the re-layout name modules that have moved

if TYPE_CHECKING:
    from agno_deepinfra._shared.errors import DeepInfraContextWindowError, DeepInfraError, DeepInfraRateLimitError
    from agno_deepinfra.batch import BatchOptions, BatchProgress
    from agno_deepinfra.catalog import ModelInfo, ModelPricing, alist_models, list_models
    from agno_deepinfra.chat import DeepInfra
    from agno_deepinfra.chat.families.profiles import ModelProfile
    from agno_deepinfra.embedder import DeepInfraEmbedder
    from agno_deepinfra.model_strings import register, unregister
    from agno_deepinfra.reranker import DeepInfraReranker
    from agno_deepinfra.tools import DeepInfraTools

    __version__: str

# public name -> the module that defines it
_EXPORTS = {
    "DeepInfra": "agno_deepinfra.chat",
    "BatchOptions": "agno_deepinfra.batch",
    "BatchProgress": "agno_deepinfra.batch",
    "DeepInfraEmbedder": "agno_deepinfra.embedder",
    "DeepInfraReranker": "agno_deepinfra.reranker",
    "DeepInfraTools": "agno_deepinfra.tools",
    "DeepInfraError": "agno_deepinfra._shared.errors",
    "DeepInfraRateLimitError": "agno_deepinfra._shared.errors",
    "DeepInfraContextWindowError": "agno_deepinfra._shared.errors",
    "ModelInfo": "agno_deepinfra.catalog",
    "ModelPricing": "agno_deepinfra.catalog",
    "ModelProfile": "agno_deepinfra.chat.families.profiles",
    "list_models": "agno_deepinfra.catalog",
    "alist_models": "agno_deepinfra.catalog",
    "register": "agno_deepinfra.model_strings",
    "unregister": "agno_deepinfra.model_strings",
}

__all__ = [
    "BatchOptions",
    "BatchProgress",
    "DeepInfra",
    "DeepInfraContextWindowError",
    "DeepInfraEmbedder",
    "DeepInfraError",
    "DeepInfraRateLimitError",
    "DeepInfraReranker",
    "DeepInfraTools",
    "ModelInfo",
    "ModelPricing",
    "ModelProfile",
    "__version__",
    "alist_models",
    "list_models",
    "register",
    "unregister",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if name == "__version__":
        value: Any = _installed_version()
    elif module is None:
        raise AttributeError(f"module 'agno_deepinfra' has no attribute {name!r}")
    else:
        value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def _installed_version() -> str:
    # Read on first use: the metadata lookup scans sys.path (about 0.4 ms) and most imports never ask.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agno-deepinfra")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0+unknown"

"""An offline DeepInfra emulator: a real HTTP server on 127.0.0.1 for tests, demos and benchmarks.

```python
from agno_deepinfra.testing import DeepInfraEmulator, Fault, Reply

with DeepInfraEmulator() as emu:
    emu.queue(Reply(content="Hello"))
    emu.queue(Fault.status(503, headers={"Retry-After": "1"}))
    ...  # point clients at emu.base_url with emu.api_key
```

It speaks DeepInfra's documented wire (usage on the last stream chunk, legacy completions, native
inference and model info, every error body shape); WIRE.md in this package lists each shape and its
source. Built on asyncio and h11 only (no web framework), so faults can act on the socket itself.
Importing this package is cheap: names are imported on first use (like the package's root), so
the pytest plugin, which every pytest run in an environment with this package loads, imports no
emulator module until a test asks for a fixture; and the emulator never imports agno or openai.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agno_deepinfra.testing.batches import ManualClock, TickingClock
    from agno_deepinfra.testing.catalog import CATALOG, ModelEntry
    from agno_deepinfra.testing.emulator import DEFAULT_API_KEY, DeepInfraEmulator
    from agno_deepinfra.testing.script import Fault, RecordedRequest, Reply, ToolCall

# public name -> the module that defines it
_EXPORTS = {
    "CATALOG": "agno_deepinfra.testing.catalog",
    "DEFAULT_API_KEY": "agno_deepinfra.testing.emulator",
    "DeepInfraEmulator": "agno_deepinfra.testing.emulator",
    "Fault": "agno_deepinfra.testing.script",
    "ManualClock": "agno_deepinfra.testing.batches",
    "ModelEntry": "agno_deepinfra.testing.catalog",
    "RecordedRequest": "agno_deepinfra.testing.script",
    "Reply": "agno_deepinfra.testing.script",
    "TickingClock": "agno_deepinfra.testing.batches",
    "ToolCall": "agno_deepinfra.testing.script",
}

__all__ = [
    "CATALOG",
    "DEFAULT_API_KEY",
    "DeepInfraEmulator",
    "Fault",
    "ManualClock",
    "ModelEntry",
    "RecordedRequest",
    "Reply",
    "TickingClock",
    "ToolCall",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'agno_deepinfra.testing' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)

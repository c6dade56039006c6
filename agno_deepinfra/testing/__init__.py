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
Importing this package is cheap: it does not import agno or openai.
"""

from agno_deepinfra.testing.batches import ManualClock, TickingClock
from agno_deepinfra.testing.catalog import CATALOG, ModelEntry
from agno_deepinfra.testing.emulator import DEFAULT_API_KEY, DeepInfraEmulator
from agno_deepinfra.testing.script import Fault, RecordedRequest, Reply, ToolCall

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

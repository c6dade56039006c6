"""Old module paths that outlive a move: pickles written before the re-layout name them.

A Celery or Ray worker on this release must read what one on the previous layout wrote, and
those pickles name private classes by module (`agno_deepinfra._limiter.Limiter`,
`agno_deepinfra._http.HttpClients`). Each old path imports as the module that holds the code now;
nothing is imported until an old path is asked for. Installed by the package's `__init__`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib import import_module
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

# old module path -> where its code lives now
MOVED = {
    "agno_deepinfra._config": "agno_deepinfra._shared.config",
    "agno_deepinfra._errors": "agno_deepinfra._shared.errors",
    "agno_deepinfra._retry": "agno_deepinfra._shared.retry",
    "agno_deepinfra._limiter": "agno_deepinfra._shared.limiter",
    "agno_deepinfra._http": "agno_deepinfra._shared.http",
    "agno_deepinfra._portable": "agno_deepinfra._shared.portable",
    "agno_deepinfra._transport": "agno_deepinfra._shared.http_stack",
    "agno_deepinfra._tracing": "agno_deepinfra._shared.tracing",
    "agno_deepinfra._reasoning": "agno_deepinfra.chat._reasoning",
    "agno_deepinfra._usage": "agno_deepinfra.chat._usage",
    "agno_deepinfra._records": "agno_deepinfra._shared.records",
    "agno_deepinfra._session_cache": "agno_deepinfra.chat._session_cache",
    "agno_deepinfra._batch_job": "agno_deepinfra.batch._job",
    "agno_deepinfra._journal": "agno_deepinfra.batch._journal",
    "agno_deepinfra._batch_chat": "agno_deepinfra.batch._chat",
}


class _MovedModules(MetaPathFinder, Loader):
    """Finds an old path in `MOVED` and hands back the module that holds its code now."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        return ModuleSpec(fullname, self) if fullname in MOVED else None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        module = import_module(MOVED[spec.name])
        self._own_spec = module.__spec__  # the import system overwrites it; `exec_module` puts it back
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._own_spec


def install() -> None:
    """Let the old module paths import (once per process)."""
    if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
        sys.meta_path.append(_MovedModules())

"""Opt-in: make agno's `"deepinfra:<model id>"` model strings build this plugin's class.

agno resolves model strings (and serialized model dicts) through one closed table,
`agno.models.utils.MODEL_PROVIDER_CLASSES`. `register()` swaps that table's `"deepinfra"` entry
and nothing else; it never happens on import. For persisted agents, agno's supported path is its
`Registry`: `registry.add_model(model)`, then `resolve_model(data, registry)` returns the live model.
"""

from __future__ import annotations

import logging
import threading

logger = logging.getLogger("agno_deepinfra")

_KEY = "deepinfra"
_AGNOS_ENTRY = ("agno.models.deepinfra", "DeepInfra")
_PLUGIN_ENTRY = ("agno_deepinfra.chat", "DeepInfra")


def _table() -> dict[str, tuple[str, str]]:
    from agno.models import utils

    table = getattr(utils, "MODEL_PROVIDER_CLASSES", None)
    entry = table.get(_KEY) if isinstance(table, dict) else None
    if entry not in (_AGNOS_ENTRY, _PLUGIN_ENTRY):
        raise RuntimeError(
            "agno's provider table (agno.models.utils.MODEL_PROVIDER_CLASSES['deepinfra']) is not what "
            f"agno-deepinfra expects (found {entry!r}); please report this with your agno version."
        )
    return table  # type: ignore[return-value]


def register() -> None:
    """After this call, `get_model("deepinfra:<id>")` and serialized DeepInfra models build `agno_deepinfra.DeepInfra`.

    Raises:
        RuntimeError: agno's provider table no longer has the shape this relies on.
    """
    _table()[_KEY] = _PLUGIN_ENTRY


def unregister() -> None:
    """Restore agno's own class for `"deepinfra:<id>"` model strings."""
    _table()[_KEY] = _AGNOS_ENTRY


def is_registered() -> bool:
    """Whether `"deepinfra:<id>"` currently builds this plugin's class."""
    return _table()[_KEY] == _PLUGIN_ENTRY


_warned = threading.Event()


def warn_if_rebuilt_as_agnos() -> None:
    """Once per process, when agno serialises our model while `register()` was not called, say so.

    agno gives no hook at the moment it rebuilds a stored model, but every rebuild starts from the
    dict this serialisation produces, so this is the last point at which we can tell the user.
    """
    if _warned.is_set():
        return
    try:
        registered = is_registered()
    except RuntimeError:  # agno changed its table: `register()` would say so loudly; stay quiet here
        return
    if not registered:
        _warned.set()
        logger.warning(
            "agno stores this DeepInfra model by provider and id; whatever agno rebuilds from it (Agent.from_dict, "
            "loading a saved agent, AgentOS evals with a model override, 'deepinfra:<id>' strings, fallback models) "
            "will be agno's built-in DeepInfra class, without this plugin. Call agno_deepinfra.register() once at "
            "startup, and register configured models in agno's Registry to get their settings back"
        )

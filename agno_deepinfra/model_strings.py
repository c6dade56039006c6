"""Opt-in: make agno's `"deepinfra:<model id>"` model strings build this plugin's class.

agno resolves model strings (and serialized model dicts) through one closed table,
`agno.models.utils.MODEL_PROVIDER_CLASSES`. `register()` swaps that table's `"deepinfra"` entry
and nothing else; it never happens on import. For persisted agents, agno's supported path is its
`Registry`: `registry.add_model(model)`, then `resolve_model(data, registry)` returns the live model.
"""

from __future__ import annotations

import threading
from types import FrameType

from agno_deepinfra._shared.config import logger

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
# agno's functions that serialise an agent's or team's whole configuration: the record that
# `Agent.save()`, `Agent.from_dict()` and AgentOS's component store rebuild agents from.
_CONFIG_SERIALISERS = {("agno.agent._storage", "to_dict"), ("agno.team._storage", "to_dict")}


def warn_if_rebuilt_as_agnos(caller: FrameType | None) -> None:
    """Once per process, when agno serialises an agent's configuration while `register()` was not called, say so.

    agno gives no hook at the moment it rebuilds a stored model, so this warns one step earlier,
    when agno writes the configuration a rebuild starts from (`caller` is the frame that called
    our `to_dict`). Session records, written on every run, are not rebuilt into models and do not
    warn: a plain agent must not log for doing nothing wrong.
    """
    if _warned.is_set() or caller is None:
        return
    if (caller.f_globals.get("__name__"), caller.f_code.co_name) not in _CONFIG_SERIALISERS:
        return
    try:
        registered = is_registered()
    except RuntimeError:  # agno changed its table: `register()` would say so loudly; stay quiet here
        return
    if not registered:
        _warned.set()
        logger.warning(
            "agno is saving this agent's DeepInfra model by provider and id; whatever agno rebuilds from it "
            "(Agent.from_dict, Agent.load, AgentOS) will be agno's built-in DeepInfra class, without this plugin. "
            "Call agno_deepinfra.register() once at startup (it also covers 'deepinfra:<id>' strings and AgentOS "
            "eval overrides), and put configured models in agno's Registry to get their settings back"
        )

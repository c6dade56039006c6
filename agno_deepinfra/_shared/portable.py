"""Objects that travel: to other processes by pickle, and into children by `fork`.

A model, embedder or reranker holds live HTTP clients (sockets, locks, event-loop-bound pools).
None of that may travel: a pickle carries the settings and the copy opens its own connections
on first use; a forked child must not share the parent's connection pools (two processes
writing to one keep-alive socket interleave their requests), so every registered object drops
its live state in the child, and the child connects afresh.
"""

from __future__ import annotations

import os
from typing import Any, Protocol
from weakref import WeakValueDictionary


class ForkAware(Protocol):
    """Something with live state to drop in a forked child."""

    def _after_fork(self) -> None: ...


# id -> object; weak, so registering never keeps an object alive.
_registered: WeakValueDictionary[int, Any] = WeakValueDictionary()


def reset_after_fork(obj: ForkAware) -> None:
    """Call `obj._after_fork()` in every child forked from this process while `obj` lives."""
    _registered[id(obj)] = obj


def _in_child() -> None:
    for obj in list(_registered.values()):
        obj._after_fork()


if hasattr(os, "register_at_fork"):  # POSIX; Windows has no fork
    os.register_at_fork(after_in_child=_in_child)


def without(state: dict[str, Any], *names: str) -> dict[str, Any]:
    """A pickle's state: `state` with the live `names` set to None (the copy rebuilds them on use)."""
    return {**state, **dict.fromkeys(names)}

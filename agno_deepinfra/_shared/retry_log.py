"""agno's retry log line names a DeepInfra error once, however often agno's format repeats it.

agno writes one line per retry, and puts the error into it twice in a run
(`... (attempt 1/2): {e}. Retrying in 1s...: {e}`) and three times in a stream. An error's
message is already short (DeepInfra's text is cut to 120 characters; the whole text is on
`.detail`), but three copies of it still make a line of ~900 characters. `OnceFilter`, installed on
agno's loggers the first time the package raises an error, keeps the first copy of a recent error
message in a record and drops the others, each with the separator before it. Other records, and
records of other libraries' errors, pass untouched.
"""

from __future__ import annotations

import logging
import re
import threading

# Messages of the last errors the package raised: the ones agno may be about to log.
_RECENT: dict[str, None] = {}
_RECENT_MAX = 32
# Shorter texts could be ordinary words in other lines; the package's messages name the model and
# are longer than this.
_MIN_LENGTH = 40
_LOCK = threading.Lock()


def remember(message: str) -> None:
    """Note an error message the package is raising, and make sure agno's loggers carry the filter."""
    if len(message) < _MIN_LENGTH:
        return
    with _LOCK:
        _RECENT.pop(message, None)
        _RECENT[message] = None
        while len(_RECENT) > _RECENT_MAX:
            del _RECENT[next(iter(_RECENT))]
    _install()


def once(line: str) -> str:
    """`line` with every copy of a remembered message after the first removed, with its separator.

    Longest first: a remembered message inside a longer one must not cut the longer one's copies.
    """
    with _LOCK:
        found = sorted((message for message in _RECENT if message in line), key=len, reverse=True)
    for message in found:
        if line.count(message) < 2:
            continue
        first = line.index(message) + len(message)
        line = line[:first] + re.sub(r"(?:[.:] )?" + re.escape(message), "", line[first:])
    return line


class OnceFilter(logging.Filter):
    """Rewrites a record that names a remembered error message more than once (see the module)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING and _RECENT:
            line = record.getMessage()
            shorter = once(line)
            if shorter != line:
                record.msg, record.args = shorter, ()
        return True


def _install() -> None:
    """Add `OnceFilter` to agno's loggers, including one the user configured for agno, once each."""
    from agno.utils import log

    names = ("agent_logger", "team_logger", "workflow_logger", "logger")
    for logger in {id(lg): lg for lg in (getattr(log, name, None) for name in names) if lg is not None}.values():
        if isinstance(logger, logging.Logger) and not any(isinstance(f, OnceFilter) for f in logger.filters):
            logger.addFilter(OnceFilter())

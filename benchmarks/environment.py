"""The process environment of a benchmark run: quiet, offline settings and a description of the machine."""

from __future__ import annotations

import datetime as dt
import logging
import os
import platform
import socket
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

# Set before agno or litellm is imported: no telemetry, and LiteLLM reads its bundled model
# cost map instead of fetching it from GitHub at import time (there is no internet here).
QUIET_ENV = {
    "AGNO_TELEMETRY": "false",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "ERROR",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",  # LiteLLM would fetch a Llama tokenizer from huggingface.co to count stream tokens
}
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
PACKAGES = ("agno-deepinfra", "agno", "openai", "httpx", "litellm", "pydantic", "h11", "matplotlib", "pyperf")
_QUIET_LOGGERS = ("agno", "agno-team", "agno-workflow", "agno_deepinfra", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy")


def apply_quiet_env() -> None:
    """Export `QUIET_ENV` (existing values win) so this process and its children stay offline and silent."""
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)


def silence_logging() -> None:
    """Raise the client libraries' loggers to ERROR; call after importing them."""
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    for name in ("httpx", "httpcore", "openai"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        import litellm
    except ImportError:
        return
    litellm.suppress_debug_info = True
    litellm.set_verbose = False
    litellm.telemetry = False
    litellm.disable_hf_tokenizer_download = True  # count with its bundled tiktoken encoding instead


def forbid_remote_hosts() -> None:
    """Make every name lookup except loopback fail at once: the benchmarks must never leave this machine.

    A library that tries (LiteLLM's tokenizer download, a cost-map refresh) fails fast instead of
    waiting on retries, and no request reaches the internet.
    """
    if getattr(socket.getaddrinfo, "loopback_only", False):
        return
    original = socket.getaddrinfo

    def loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name is not None and name not in LOOPBACK_HOSTS:
            raise socket.gaierror(socket.EAI_NONAME, f"benchmarks: refusing to resolve {name!r} (loopback only)")
        return original(host, *args, **kwargs)

    loopback_only.loopback_only = True  # type: ignore[attr-defined]
    socket.getaddrinfo = loopback_only


def package_version(name: str) -> str:
    """The installed version of a distribution, or "missing"."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


def machine() -> dict[str, Any]:
    """Where and when this run happens: cores, CPU, Python, package versions and the load at the start."""
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "packages": {name: package_version(name) for name in PACKAGES},
        "load_average_start": [round(value, 2) for value in os.getloadavg()],
    }

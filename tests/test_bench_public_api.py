"""The benchmarks use only the package's public API, so moving its private modules never breaks them.

Read from the benchmarks' `ast`: no import of an `agno_deepinfra` module or name that starts with an
underscore (nor a dotted string naming one, as `importlib.import_module` would take), and no
private attribute (`x._name`, or `getattr(x, "_name")`) of anything but the benchmarks' own `self`.
"""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
PACKAGE = "agno_deepinfra"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private_module(dotted: str) -> bool:
    parts = dotted.split(".")
    return parts[0] == PACKAGE and any(_private(part) for part in parts[1:])


def private_uses(source: str) -> list[str]:
    """Every private name of the package, or private attribute, that `source` reaches for."""
    found = []
    for node in ast.walk(ast.parse(source)):
        where = f"line {getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{where}: import {alias.name}" for alias in node.names if _private_module(alias.name)]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == PACKAGE:
            module = node.module or ""
            names = [alias.name for alias in node.names]
            if _private_module(module) or any(_private(name) for name in names):
                found.append(f"{where}: from {module} import {', '.join(names)}")
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            if not (isinstance(node.value, ast.Name) and node.value.id == "self"):
                found.append(f"{where}: .{node.attr}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _private_module(node.value):
            found.append(f"{where}: {node.value!r}")
        elif isinstance(node, ast.Call) and _private(named := _attribute_named(node)):
            found.append(f"{where}: {ast.unparse(node.func)}(..., {named!r})")
    return found


def _attribute_named(call: ast.Call) -> str:
    """The attribute name a `getattr`-like call spells out as a string, or ""."""
    is_lookup = isinstance(call.func, ast.Name) and call.func.id in ("getattr", "setattr", "hasattr", "delattr")
    name = call.args[1] if is_lookup and len(call.args) > 1 else None
    return name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else ""


def test_the_benchmarks_use_only_public_names_of_the_package() -> None:
    files = sorted(BENCH.glob("*.py"))
    assert len(files) > 10  # the benchmarks are where this test looks
    offences = {path.name: uses for path in files if (uses := private_uses(path.read_text()))}
    assert offences == {}


def test_each_kind_of_private_reach_is_caught() -> None:
    cases = {
        "import agno_deepinfra._shared.tracing": 1,
        "from agno_deepinfra._shared.tracing import traced_model_call": 1,
        "from agno_deepinfra.chat import _FailureScope": 1,
        "from agno_deepinfra import chat, DeepInfra": 0,
        "model._chat_request()": 1,
        "self._process = None": 0,
        "getattr(model, '_limiter')": 1,
        "getattr(model, '__wrapped__')": 0,
        "importlib.import_module('agno_deepinfra._shared.http')": 1,
        "from openai import OpenAI": 0,
    }
    for source, expected in cases.items():
        assert len(private_uses(source)) == expected, source

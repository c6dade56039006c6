"""The package's layout: old module paths still load what was pickled before the re-layout.

`tests/data/pickles-before-relayout.pickle` was written by `tests/data/make_pickles.py` on the
layout with 15 private top-level modules. Its pickles name `agno_deepinfra._shared.limiter.Limiter` and
`agno_deepinfra._shared.http.HttpClients`; a worker on today's layout must read them and work.
"""

from __future__ import annotations

import asyncio
import pickle
from pathlib import Path
from typing import Any

import pytest
from agno.agent import Agent
from agno.knowledge.document import Document

from agno_deepinfra.testing import DeepInfraEmulator

PICKLES = Path(__file__).parent / "data" / "pickles-before-relayout.pickle"


@pytest.fixture
def loaded(emu: DeepInfraEmulator) -> dict[str, Any]:
    """The old pickles, aimed at the emulator (they were written for an unreachable URL, with no key)."""
    objects: dict[str, Any] = pickle.loads(PICKLES.read_bytes())
    for obj in objects.values():
        obj.base_url = emu.base_url
        obj.api_key = emu.api_key
    return objects


@pytest.mark.parametrize("name", ["model", "model_fixed_limit", "model_auto_limit"])
def test_an_old_pickled_model_runs_sync_and_async(loaded: dict[str, Any], name: str) -> None:
    model = loaded[name]
    assert Agent(model=model).run("hi").status.value == "COMPLETED"
    assert asyncio.run(Agent(model=model).arun("hi")).status.value == "COMPLETED"


def test_an_old_pickled_limit_keeps_its_setting(loaded: dict[str, Any]) -> None:
    assert (loaded["model_fixed_limit"].max_concurrency, loaded["model_auto_limit"].max_concurrency) == (4, "auto")
    assert type(loaded["model_auto_limit"]._limiter).__module__ == "agno_deepinfra._shared.limiter"


def test_an_old_pickled_batch_model_answers_through_a_batch(loaded: dict[str, Any], emu: DeepInfraEmulator) -> None:
    output = Agent(model=loaded["model_batch"]).run("hi")
    assert output.status.value == "COMPLETED", output.content
    assert len(emu.requests_for("batches")) >= 1


def test_an_old_pickled_embedder_and_reranker_work(loaded: dict[str, Any]) -> None:
    embedder, reranker = loaded["embedder"], loaded["reranker"]
    assert len(embedder.get_embedding("hello")) == embedder.dimensions
    ranked = reranker.rerank("stoves", [Document(content="stoves"), Document(content="boats")])
    assert len(ranked) == 2
    embedder.close()
    reranker.close()


def test_old_module_paths_import_as_the_modules_that_hold_the_code() -> None:
    import importlib

    from agno_deepinfra._shared import compat

    for old, new in compat.MOVED.items():
        assert importlib.import_module(old) is importlib.import_module(new), old
        assert importlib.import_module(new).__spec__.name == new  # the real module's spec is untouched


# ------------------------------------------------------------------------------- the import graph

PACKAGE = Path(__file__).resolve().parents[1] / "agno_deepinfra"
# Who may import whom: a module imports only modules of its own floor or below.
FLOORS = {
    "agno_deepinfra._shared": 0,
    "agno_deepinfra.model_strings": 1,
    "agno_deepinfra.catalog": 1,
    "agno_deepinfra.batch": 2,
    "agno_deepinfra.chat": 3,
    "agno_deepinfra.embedder": 3,
    "agno_deepinfra.reranker": 3,
    "agno_deepinfra.tools": 3,
    "agno_deepinfra": 4,  # the lazy face
}
LONGEST = 360  # lines: "about 350"; the module holding the `DeepInfra` class may reach 500
LONGEST_MODEL = 500


def _modules() -> dict[str, Path]:
    found = {}
    for file in PACKAGE.rglob("*.py"):
        parts = file.relative_to(PACKAGE.parent).with_suffix("").parts
        if "testing" in parts:
            continue
        found[".".join(parts).removesuffix(".__init__")] = file
    return found


def _imports(module: str, file: Path, known: set[str]) -> set[str]:
    """The package modules `module` imports, lazy and TYPE_CHECKING imports included."""
    import ast

    package = module if file.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            base = (
                node.module
                if node.level == 0
                else ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], node.module])
            )
            for alias in node.names:
                target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                if target in known and target != module:
                    found.add(target)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in known and alias.name != module}
    return found


def _floor(module: str) -> int:
    """The floor of the longest prefix in `FLOORS` that `module` falls under."""
    matches = [
        (len(prefix), floor) for prefix, floor in FLOORS.items() if module == prefix or module.startswith(prefix + ".")
    ]
    return max(matches)[1]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {module: _imports(module, file, set(modules)) for module, file in modules.items()}


def test_no_module_imports_one_above_its_floor_or_its_own_package() -> None:
    wrong = []
    for module, targets in _graph().items():
        for target in targets:
            if module == "agno_deepinfra" and target == "agno_deepinfra._shared.compat":
                continue
            if _floor(target) > _floor(module) or module.startswith(target + "."):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_the_import_graph_has_no_circle() -> None:
    graph = _graph()
    circles = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                circles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target, [*stack, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_emulator_imports_nothing_of_the_client_side() -> None:
    import ast

    wrong = []
    for file in (PACKAGE / "testing").rglob("*.py"):
        if file.name == "pytest_plugin.py":  # the fixtures users get build models: not the emulator
            continue
        for node in ast.walk(ast.parse(file.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            names += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            wrong += [f"{file.name}: {name}" for name in names if _client_side(name)]
    assert wrong == []


def _client_side(module: str) -> bool:
    # The emulator redacts its request log by the package's one rule, and tells loopback hosts by
    # the package's one test: two leaves of plain functions.
    shared = ("agno_deepinfra.testing", "agno_deepinfra._shared.redact", "agno_deepinfra._shared.url_logs")
    return module.startswith("agno_deepinfra") and not module.startswith(shared)


def test_modules_stay_short() -> None:
    too_long = {}
    for module, file in _modules().items():
        lines = len(file.read_text().splitlines())
        if lines > (LONGEST_MODEL if module == "agno_deepinfra.chat.model" else LONGEST):
            too_long[module] = lines
    assert too_long == {}


def test_a_newcomer_opening_the_package_sees_public_modules_wings_and_testing() -> None:
    entries = {path.name for path in PACKAGE.iterdir() if not path.name.startswith("__")}
    private = {name for name in entries if name.startswith("_")}
    assert private == {"_shared"}
    assert {"chat", "batch", "testing"} <= entries


def test_the_embedder_reranker_and_tools_never_import_the_chat_wing() -> None:
    """Importing a module of `chat/` runs `chat/__init__`, which imports the chat model and agno's."""
    graph = _graph()
    wrong = [
        f"{module} -> {target}"
        for module in ("agno_deepinfra.embedder", "agno_deepinfra.reranker", "agno_deepinfra.tools")
        for target in graph[module]
        if target.startswith("agno_deepinfra.chat")
    ]
    assert wrong == []

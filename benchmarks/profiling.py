"""Where `agno_deepinfra.DeepInfra` spends client CPU per call, beyond the raw SDK and agno's own class.

Three views, from coarse to exact:

1. `cProfile` with a CPU clock over many real calls: CPU per call by package (agno_deepinfra, agno,
   openai, transport, ...) for the raw SDK, agno's class and ours. The profiler inflates Python-heavy
   code, so compare columns, not absolute numbers with the timing tables.
2. The same profile, restricted to the plugin's functions: how many times each runs per call.
3. Micro-benchmarks (`timeit`, no I/O) of each per-call step, ours against agno's: real µs.

A pyinstrument call tree of our model-layer path is kept for reading.
"""

from __future__ import annotations

import asyncio
import copy
import cProfile
import pstats
import time
import timeit
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks.config import Sizes
from benchmarks.contenders import AGNO, LABELS, OURS, RAW, Call, Target, agent_calls, model_calls

BUCKETS = (
    ("agno_deepinfra", ("/agno_deepinfra/",)),
    ("agno", ("/agno/",)),
    ("openai SDK", ("/openai/",)),
    ("httpx / httpcore / h11", ("/httpx/", "/httpcore/", "/h11/")),
    ("pydantic", ("/pydantic/", "/pydantic_core/")),
)
OTHER = "stdlib, builtins, socket"


def bucket(filename: str) -> str:
    """The package a code object's file belongs to."""
    for name, markers in BUCKETS:
        if any(marker in filename for marker in markers):
            return name
    return OTHER


def _cpu_profile(call: Call, calls: int) -> pstats.Stats:
    for _ in range(max(3, calls // 10)):
        call()
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(calls):
        call()
    profiler.disable()
    return pstats.Stats(profiler)


def _by_bucket(stats: pstats.Stats, calls: int) -> dict[str, float]:
    totals: dict[str, float] = {name: 0.0 for name, _ in BUCKETS} | {OTHER: 0.0}
    for (filename, _line, _name), (_cc, _nc, self_time, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        totals[bucket(filename)] += self_time
    return {name: seconds / calls * 1e6 for name, seconds in totals.items()}


@dataclass(frozen=True)
class PluginFunction:
    """One function of the plugin seen on the per-call path."""

    function: str
    calls_per_call: float
    inclusive_us: float
    self_us: float


def _plugin_functions(stats: pstats.Stats, calls: int, top: int = 12) -> list[PluginFunction]:
    rows = []
    for (filename, line, name), (_cc, ncalls, self_time, cumulative, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "/agno_deepinfra/" not in filename:
            continue
        where = filename.split("/agno_deepinfra/", 1)[1]
        rows.append(
            PluginFunction(f"{where}:{line} {name}", ncalls / calls, cumulative / calls * 1e6, self_time / calls * 1e6)
        )
    return sorted(rows, key=lambda row: row.inclusive_us, reverse=True)[:top]


def _pyinstrument_tree(call: Call, calls: int) -> str:
    try:
        from pyinstrument import Profiler
    except ImportError:
        return "(pyinstrument is not installed)"
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for _ in range(calls):
        call()
    profiler.stop()
    text = profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines[:70])


@dataclass(frozen=True)
class Micro:
    """One per-call step timed in isolation: ours, agno's equivalent, and how often it runs."""

    key: str
    step: str
    per: str
    ours_us: float | None
    agno_us: float | None
    alternative_us: float | None = None  # the suggested replacement, timed the same way


def _timeit(function: Callable[[], object], iterations: int) -> float:
    function()
    return min(timeit.repeat(function, number=iterations, repeat=5)) / iterations * 1e6


def _timeit_pair(first: Callable[[], object], second: Callable[[], object], iterations: int) -> tuple[float, float]:
    """Best-of-7 µs of two functions, their repeats alternated so load spikes hit both alike."""
    first()
    second()
    best = [float("inf"), float("inf")]
    for _ in range(7):
        for index, function in enumerate((first, second)):
            best[index] = min(best[index], timeit.timeit(function, number=iterations) / iterations * 1e6)
    return best[0], best[1]


def micro_benchmarks(iterations: int) -> list[Micro]:
    """Each step of a call, offline, for agno's class and ours (µs, best of 5 repeats)."""
    from agno.models.deepinfra import DeepInfra as AgnoDeepInfra
    from agno.models.message import Message
    from openai._utils import maybe_transform
    from openai.types.chat import ChatCompletion, ChatCompletionChunk, completion_create_params

    import agno_deepinfra.chat as ours_module
    from agno_deepinfra import DeepInfra

    base_url = "http://127.0.0.1:9/v1/openai"  # never contacted: clients are built, not used
    agno = AgnoDeepInfra(id="m", base_url=base_url, api_key="k")
    ours = DeepInfra(id="m", base_url=base_url, api_key="k")
    completion = ChatCompletion.model_validate(
        {
            "id": "c",
            "object": "chat.completion",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5, "estimated_cost": 1e-6},
        }
    )
    chunk = ChatCompletionChunk.model_validate(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "lore"}, "finish_reason": None}],
        }
    )
    usage = completion.usage
    assert usage is not None
    messages = [Message(role="user", content="Say hello.")]
    request = ours._chat_request(messages, None, None, None, None, False)
    sdk_keywords = {key: value for key, value in request.items() if key != "extra_body"}  # what `create` walks
    n = iterations

    def both(
        key: str, step: str, per: str, ours_fn: Callable[[], object], agno_fn: Callable[[], object] | None
    ) -> Micro:
        if agno_fn is None:
            return Micro(key, step, per, _timeit(ours_fn, n), None)
        return Micro(key, step, per, *_timeit_pair(ours_fn, agno_fn, n))

    def agno_request() -> dict[str, Any]:
        return {"model": agno.id, "messages": agno._format_all_messages(messages), **agno.get_request_params()}

    def scope() -> None:
        with ours_module._FailureScope(ours):
            pass

    stream_scope = ours_module._StreamScope(ours)
    agno.get_client()
    ours.get_client()
    results = [
        both(
            "request",
            "build the request (format messages + params)",
            "call",
            lambda: ours._chat_request(messages, None, None, None, None, False),
            agno_request,
        ),
        both("request_params", "`get_request_params()`", "call", ours.get_request_params, agno.get_request_params),
        both(
            "sdk_transform",
            "openai SDK `maybe_transform` inside `create` (ours: body pre-built in `extra_body`, not transformed)",
            "call",
            lambda: maybe_transform(sdk_keywords, completion_create_params.CompletionCreateParamsNonStreaming),
            lambda: maybe_transform(agno_request(), completion_create_params.CompletionCreateParamsNonStreaming),
        ),
        both("get_client", "`get_client()` (cached client)", "call", ours.get_client, agno.get_client),
        both("failure_scope", "`_FailureScope` enter + exit", "call", scope, None),
        both(
            "parse",
            "`_parse_provider_response(completion)`",
            "call",
            lambda: ours._parse_provider_response(completion),
            lambda: agno._parse_provider_response(completion),
        ),
        both(
            "metrics",
            "`_get_metrics(usage)`",
            "call",
            lambda: ours._get_metrics(usage),
            lambda: agno._get_metrics(usage),
        ),
        both("to_dict", "`to_dict()` (agno's Agent calls it once per run)", "agent run", ours.to_dict, agno.to_dict),
        both(
            "delta",
            "stream chunk: `_StreamScope.deliver` vs agno's `_parse_provider_response_delta`",
            "chunk",
            lambda: stream_scope.deliver(chunk),
            lambda: agno._parse_provider_response_delta(chunk),
        ),
        both(
            "deepcopy",
            "`copy.deepcopy(model)` (agno copies models for teams / workflows)",
            "copy",
            lambda: copy.deepcopy(ours),
            lambda: copy.deepcopy(agno),
        ),
    ]

    async def async_clients() -> Micro:
        agno.get_async_client()
        ours.get_async_client()
        return both(
            "get_async_client",
            "`get_async_client()` inside a running loop",
            "async call",
            ours.get_async_client,
            agno.get_async_client,
        )

    results.append(asyncio.run(async_clients()))

    from importlib.metadata import version

    # Slow (a scan of sys.path): fewer iterations.
    version_us = _timeit(lambda: version("agno-deepinfra"), max(1, n // 20))
    results.append(Micro("version", "`importlib.metadata.version(...)` for `__version__`", "import", version_us, None))
    return results


@dataclass
class ProfileResult:
    """Everything the profiling stage found, for RESULTS.md and results.json."""

    breakdown: dict[str, dict[str, float]]
    plugin_functions: list[PluginFunction]
    micro: list[Micro]
    tree: str
    calls: int
    # Whether the SDK's transform left a rich wire-shaped request unchanged (checked in the run);
    # None for results written before the run recorded it.
    transform_identity: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "calls": self.calls,
            "cpu_us_per_call_by_package_cprofile": self.breakdown,
            "plugin_functions": [asdict(row) for row in self.plugin_functions],
            "micro_benchmarks_us": [asdict(row) for row in self.micro],
            "tree": self.tree,
            "transform_identity": self.transform_identity,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProfileResult:
        """The result back from `to_json()` (older results have no tree and no transform check)."""
        return cls(
            breakdown=data["cpu_us_per_call_by_package_cprofile"],
            plugin_functions=[PluginFunction(**row) for row in data["plugin_functions"]],
            micro=[Micro(**row) for row in data["micro_benchmarks_us"]],
            tree=data.get("tree", ""),
            calls=data["calls"],
            transform_identity=data.get("transform_identity"),
        )


def profile(target: Target, sizes: Sizes) -> ProfileResult:
    """Profile the per-call path of the raw SDK, agno's class and ours (model layer), and the agent layer."""
    calls = sizes.profile_calls
    models = model_calls(target)
    agents = agent_calls(target)
    paths: dict[str, Call] = {
        f"{LABELS[RAW]} (model layer)": models[RAW],
        f"{LABELS[AGNO]} (model layer)": models[AGNO],
        f"{LABELS[OURS]} (model layer)": models[OURS],
    }
    for name in (AGNO, OURS):
        agent = agents[name]
        if agent is not None:
            paths[f"{LABELS[name]} (Agent.run)"] = agent
    breakdown: dict[str, dict[str, float]] = {}
    plugin: list[PluginFunction] = []
    for label, call in paths.items():
        stats = _cpu_profile(call, calls)
        breakdown[label] = _by_bucket(stats, calls)
        if label.startswith(LABELS[OURS]):
            plugin += _plugin_functions(stats, calls)
    tree = _pyinstrument_tree(models[OURS], calls)
    micro = micro_benchmarks(sizes.micro_iterations) + knowledge_micro_benchmarks(sizes.micro_iterations)
    return ProfileResult(breakdown, _dedupe(plugin), micro, tree, calls, _transform_is_identity())


def _with_alternative(
    ours: Callable[[], object], alternative: Callable[[], object], iterations: int
) -> tuple[float, None, float]:
    """(ours µs, no agno equivalent, alternative µs), timed alternately."""
    mine, other = _timeit_pair(ours, alternative, iterations)
    return mine, None, other


def knowledge_micro_benchmarks(iterations: int) -> list[Micro]:
    """Per-request and per-item steps of `DeepInfraEmbedder` and `DeepInfraReranker` (skipped when absent).

    These read private helpers of modules still being written: any that has moved is left out.
    """
    import base64
    import dataclasses
    import importlib
    import struct

    from agno.knowledge.document import Document

    base_url = "http://127.0.0.1:9/v1/openai"
    results: list[Micro] = []
    vector = [0.0123456789 * index for index in range(384)]  # as `json.loads` hands it over
    packed = base64.b64encode(struct.pack("<384f", *vector)).decode()  # the same, as `encoding_format=base64`
    texts = [f"text number {index}" for index in range(100)]
    document = Document(content="a candidate passage", meta_data={"source": "docs", "page": 3})
    documents = [document] * 64

    def embedder_steps() -> list[Micro]:
        module = importlib.import_module("agno_deepinfra.embedder")
        embedder = module.DeepInfraEmbedder(id="BAAI/bge-m3", base_url=base_url, api_key="k")
        return [
            Micro(
                "embed_payload",
                "embedder `_build_payload` (100 texts): URL re-normalised, auth header rebuilt",
                "request",
                _timeit(lambda: embedder._build_payload(texts), iterations),
                None,
            ),
            Micro(
                "embed_vector",
                "embedder `_vector` of a 384-float base64 string (the default); alternative: the JSON list",
                "vector",
                *_with_alternative(lambda: module._vector(packed), lambda: module._vector(vector), iterations),
            ),
        ]

    def reranker_steps() -> list[Micro]:
        module = importlib.import_module("agno_deepinfra.reranker")
        reranker = module.DeepInfraReranker(base_url=base_url, api_key="k")
        return [
            Micro(
                "rerank_payload",
                "reranker `_build_payload` (64 documents): root URL re-derived, auth header rebuilt",
                "request",
                _timeit(lambda: reranker._build_payload("query", documents), iterations),
                None,
            ),
            Micro(
                "scored_copy",
                "reranker `_scored_copy`: `dataclasses.replace` + `deepcopy(meta_data)`",
                "document",
                *_with_alternative(
                    lambda: module._scored_copy(document, 0.5),
                    lambda: dataclasses.replace(document, meta_data=dict(document.meta_data), reranking_score=0.5),
                    iterations,
                ),
            ),
        ]

    attempts: list[Callable[[], list[Micro]]] = [embedder_steps, reranker_steps]
    for steps in attempts:
        try:
            results += steps()
        except (ImportError, AttributeError, TypeError):
            continue
    return results


def _dedupe(rows: list[PluginFunction]) -> list[PluginFunction]:
    best: dict[str, PluginFunction] = {}
    for row in rows:
        if row.function not in best or row.inclusive_us > best[row.function].inclusive_us:
            best[row.function] = row
    return sorted(best.values(), key=lambda row: row.inclusive_us, reverse=True)


_FIXES = {
    "sdk_transform": (
        "The openai SDK re-walks its keyword arguments against its TypedDicts (`_transform_recursive`) on every "
        "`chat.completions.create`. Ours builds the body wire-ready and passes it whole in `extra_body`, which the "
        "SDK sends as given, so the walk covers only `model` and an empty `messages`; agno's class pays for the "
        "whole request."
    ),
    "to_dict": (
        "Reads {deepinfra_fields} DeepInfra fields with `getattr` beyond agno's own and converts the record to JSON "
        "types (`stored_form`) per Agent.run; cache the static part or accept."
    ),
    "parse": "The extra `if not response.choices` check; negligible, keep.",
    "metrics": "`model_extra` lookup for `estimated_cost`; negligible, keep.",
    "get_async_client": "`get_running_loop()` + WeakKeyDictionary lookup; negligible, keep (per-loop correctness).",
    "delta": "`ThinkSplitter` fast path + finish tracking per chunk; negligible, keep.",
    "deepcopy": "Fresh `WeakKeyDictionary` for the copy; only when agno copies a model, keep.",
    "request": "Same work as agno's (format + params); nothing to save.",
    "request_params": ("{request_fields} `getattr` per call; could iterate only fields set away from their defaults."),
    "embed_payload": (
        "Per request `openai_url(self.base_url ...)` (a `urlsplit`) and `auth_headers`; negligible, keep (the key "
        "is re-read so a rotated `DEEPINFRA_API_KEY` is picked up)."
    ),
    "embed_vector": (
        "Decoding a vector, once per text. The alternative's time leaves out the JSON parse of every number (in "
        "`response.json()`, before `_vector`): the embedding table compares the two end to end."
    ),
    "rerank_payload": "Per batch `root_url(self.base_url)` + `quote(...)` + `auth_headers`; negligible, keep.",
    "scored_copy": (
        "`copy.deepcopy(meta_data)` per returned document; a shallow `dict(meta_data)` "
        "keeps the caller's dict safe from key edits (alternative timed in the table)."
    ),
    "version": ("Paid only when `agno_deepinfra.__version__` is first read (a module `__getattr__`), not at import."),
}


def _us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.1f}"


def profile_markdown(result: ProfileResult, raw_cpu_us: float | None) -> str:
    """The profiling section of RESULTS.md: per-package breakdown, plugin functions, micro-benchmarks, findings."""
    buckets = [name for name, _ in BUCKETS] + [OTHER]
    lines = [
        "## Profile: where `agno_deepinfra.DeepInfra` spends client CPU",
        "",
        f"cProfile with a CPU clock over {result.calls} calls per path (the profiler inflates Python-heavy code: "
        "compare rows, not absolute values with the tables above). µs of client CPU per call, by package:",
        "",
        "| Path | " + " | ".join(buckets) + " | total |",
        "|---|" + "---:|" * (len(buckets) + 1),
    ]
    for label, row in result.breakdown.items():
        cells = [_us(row.get(name)) for name in buckets]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {_us(sum(row.values()))} |")
    lines += [
        "",
        "Plugin functions on the per-call path (same profile; calls per model call, inclusive and self µs):",
        "",
        "| Function | calls/call | inclusive µs | self µs |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| `{row.function}` | {row.calls_per_call:.1f} | {_us(row.inclusive_us)} | {_us(row.self_us)} |"
        for row in result.plugin_functions
    ]
    lines += [
        "",
        "Each step in isolation (`timeit`, best of 5-7 repeats with ours and agno alternated, no I/O; real µs):",
        "",
        "| Step | per | ours µs | agno µs | ours - agno | suggested alternative µs |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for micro in result.micro:
        delta = None if micro.ours_us is None or micro.agno_us is None else micro.ours_us - micro.agno_us
        alternative = "" if micro.alternative_us is None else _us(micro.alternative_us)
        lines.append(
            f"| {micro.step} | {micro.per} | {_us(micro.ours_us)} | {_us(micro.agno_us)} | "
            f"{'' if delta is None else f'{delta:+.1f}'} | {alternative} |"
        )
    lines += ["", "### Findings", ""]
    lines += [f"{index}. {finding}" for index, finding in enumerate(findings(result, raw_cpu_us), start=1)]
    if result.tree:  # results written before the tree was kept in results.json have none
        lines += ["", "<details><summary>pyinstrument call tree of ours (model layer)</summary>", "", "```text"]
        lines += [result.tree, "```", "", "</details>"]
    return "\n".join(lines)


# A request with every message kind, tools, a JSON-schema response format and sampling fields.
_RICH_REQUEST: dict[str, Any] = {
    "model": "m",
    "messages": [
        {"role": "system", "content": "s"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "data:x"}}],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "r"},
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
    "tool_choice": "auto",
    "response_format": {"type": "json_schema", "json_schema": {"name": "X", "schema": {"type": "object"}}},
    "temperature": 0.5,
    "max_tokens": 10,
    "stream_options": {"include_usage": True},
    "service_tier": "priority",
    "seed": 1,
    "stop": ["x"],
}


def _transform_is_identity() -> bool:
    """Whether the SDK's transform leaves a rich, already wire-shaped request unchanged (it should)."""
    from openai._utils import maybe_transform
    from openai.types.chat import completion_create_params

    return bool(
        maybe_transform(_RICH_REQUEST, completion_create_params.CompletionCreateParamsNonStreaming) == _RICH_REQUEST
    )


def _transform_sentence(same: bool | None) -> str:
    """The run's transform check in words; nothing when the results predate the check."""
    if same is None:
        return ""
    verdict = "returns it unchanged" if same else "**changes it** (check the differences: ours skips it)"
    return (
        "Checked here: for a request with every message kind, tools, a `json_schema` response format and sampling "
        f"fields, `maybe_transform` {verdict}."
    )


def findings(result: ProfileResult, raw_cpu_us: float | None) -> list[str]:
    """Concrete findings, largest saving first: function, µs per call, suggested fix."""
    micro = {row.key: row for row in result.micro}
    out = []
    transform = micro.get("sdk_transform")
    if transform is not None and transform.ours_us is not None:
        share = f" ({transform.ours_us / raw_cpu_us:.0%} of the raw SDK's client CPU per call)" if raw_cpu_us else ""
        versus = "" if transform.agno_us is None else f" against agno's {transform.agno_us:,.0f} µs"
        out.append(
            f"**openai `maybe_transform`: {transform.ours_us:,.0f} µs per call{versus}**{share}. "
            f"{_FIXES['sdk_transform']} {_transform_sentence(result.transform_identity)}".rstrip()
        )
    extras = []
    for row in result.micro:
        if row.key in ("sdk_transform", "version") or row.ours_us is None:
            continue
        delta = None if row.agno_us is None else row.ours_us - row.agno_us
        if row.alternative_us is not None:
            delta = row.ours_us - row.alternative_us
        shown = f"{row.ours_us:,.1f} µs" + (
            "" if row.agno_us is None else f" ({row.ours_us - row.agno_us:+.1f} µs vs agno)"
        )
        advice = _FIXES.get(row.key, "").format(**_field_counts())
        if row.alternative_us is not None:
            shown += f"; the alternative: {row.alternative_us:,.1f} µs"
            if row.alternative_us >= row.ours_us:
                advice = "The alternative was not faster in this run: no change suggested."
        extras.append((delta or 0.0, f"{row.step}: {shown} per {row.per}. {advice}"))
    out += [text for _, text in sorted(extras, key=lambda pair: pair[0], reverse=True)]
    version = micro.get("version")
    if version is not None and version.ours_us is not None:
        out.append(f"`__version__`: {version.ours_us:,.0f} µs, once. {_FIXES['version']}")
    repeated = [
        row
        for row in result.plugin_functions
        if row.calls_per_call >= 0.5 and any(name in row.function for name in _ONCE_PER_MODEL)
    ]
    if repeated:
        out += [
            f"`{row.function}` runs {row.calls_per_call:.1f} times per call ({row.inclusive_us:,.0f} µs inclusive "
            f"under cProfile): {_ONCE_PER_MODEL[next(n for n in _ONCE_PER_MODEL if n in row.function)]}"
            for row in repeated
        ]
    else:
        out.append(
            "Checked in the profile: no client construction, URL normalisation, key resolution or schema "
            "conversion runs per call (none of "
            + ", ".join(f"`{name}`" for name in _ONCE_PER_MODEL)
            + " is on the per-call path), and the plugin formats no log messages on the success path. agno's own "
            "`Model.response` formats its `log_debug` f-strings even with debug off (agno's code, paid by both "
            "agno classes)."
        )
    return out


def _field_counts() -> dict[str, int]:
    """How many names `to_dict()` and `get_request_params()` read with `getattr`, counted from the code."""
    from agno_deepinfra import chat

    deepinfra, sdk = len(chat._DEEPINFRA_FIELDS), len(chat._SDK_FIELDS)
    return {"deepinfra_fields": deepinfra, "request_fields": deepinfra + sdk}


# Work that should happen once per model (or per event loop), never per call.
_ONCE_PER_MODEL = {
    "_get_client_params": "client settings rebuilt per call; cache the client.",
    "_new_async_client": "a client constructed per call; cache it per event loop.",
    "warn_if_insecure": "URL check per call; do it once when the client is built.",
    "openai_url": "URL normalised per call; do it once in `__post_init__`.",
    "resolve_api_key": "key resolved per call; resolve when the client is built.",
    "get_response_schema_for_provider": "schema converted per call; keep the `lru_cache`.",
}

"""The inputs `make fuzz` generates (tools/fuzz.py): what a hostile server or a crash could hand the package."""

from __future__ import annotations

import json
from email.utils import formatdate

from hypothesis import strategies as st

SECRET = "sk-fuzz-secret-0123456789"  # the key in use; some error bodies repeat it

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(), st.text(max_size=30))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)
shaped_errors = st.fixed_dictionaries(
    {}, optional={key: json_values for key in ("detail", "error", "message", "msg", "loc", "type")}
)
markup = st.lists(st.sampled_from([*"<>/ =\"'&;#x\né", "script", "style", "p", "amp"]), max_size=300).map("".join)
nested = st.integers(1, 50_000).map(lambda depth: '{"detail": ' * depth + '"x"' + "}" * depth)


def _with_secret(text: str, draw: bool) -> str:
    return text + SECRET if draw else text


validation_errors = st.lists(  # FastAPI's 422 shape, with any location and message
    st.fixed_dictionaries({}, optional={"loc": json_values, "msg": json_values, "type": scalars}), max_size=3
).map(lambda items: {"detail": items})
error_body = st.one_of(
    st.tuples(st.one_of(json_values, shaped_errors, validation_errors), st.booleans()).map(
        lambda pair: _with_secret(json.dumps(pair[0]), pair[1])
    ),
    st.tuples(markup, st.booleans()).map(lambda pair: _with_secret(pair[0], pair[1])),
    st.binary(max_size=200).map(lambda raw: raw.decode("latin-1")),
    nested,
    st.integers(1, 200_000).map(lambda n: "<html><p>Bad gateway</p>" + "<script" * n),
)
printable = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)  # a header's text
retry_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(-2e9, 2.5e11).map(lambda stamp: formatdate(stamp, usegmt=True)),  # HTTP dates, 1906 to 9892
    st.sampled_from(["inf", "-inf", "nan", "1e400", "", " 3 ", "0x10", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"]),
    printable,
)
headers = st.dictionaries(st.sampled_from(["Retry-After", "retry-after-ms", "RETRY-AFTER", "x-other"]), retry_values)
statuses = st.one_of(
    st.sampled_from([400, 401, 402, 403, 404, 408, 413, 422, 425, 429, 500, 502, 503, 504, 529]), st.integers(400, 599)
)

think_text = st.one_of(
    st.none(),
    st.lists(st.sampled_from([*"ab <>/\n", "<think>", "</think>", "<thi", "nk>", "</th"]), max_size=40).map("".join),
    st.text(max_size=20),
)
tool_call = st.fixed_dictionaries(
    {"index": st.integers(0, 2)},
    optional={
        "id": st.text(max_size=6),
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {}, optional={"name": st.text(max_size=8), "arguments": st.text(max_size=20)}
        ),
    },
)
delta = st.fixed_dictionaries(
    {},
    optional={
        "role": st.sampled_from(["assistant", None]),
        "content": think_text,
        "reasoning_content": think_text,
        "tool_calls": st.lists(tool_call, max_size=2),
    },
)
choice = st.fixed_dictionaries(
    {"index": st.integers(0, 1), "delta": delta},
    optional={"finish_reason": st.sampled_from([None, "stop", "length", "tool_calls", "content_filter"])},
)
usage_records = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(
            ["prompt_tokens", "completion_tokens", "total_tokens", "estimated_cost", "prompt_tokens_details"]
        ),
        json_values,
        max_size=5,
    ),
    json_values,
)
chunk = st.fixed_dictionaries(
    {"id": st.just("c"), "object": st.just("chat.completion.chunk"), "created": st.just(0), "model": st.just("m/x")},
    optional={"choices": st.lists(choice, max_size=2), "usage": usage_records},
)
sse_event = st.one_of(
    chunk.map(lambda body: "data: " + json.dumps(body)),
    st.just("data: [DONE]"),
    st.just(": keep-alive"),
    shaped_errors.map(lambda body: "data: " + json.dumps({"error": body})),
    st.text(max_size=30).map(lambda text: "data: " + text),
    st.text(max_size=30),
)
sse_stream = st.lists(sse_event, max_size=12).map(lambda events: "\n\n".join(events) + "\n\n")

journal_record = st.fixed_dictionaries(
    {},
    optional={
        "event": st.one_of(st.sampled_from(["submitting", "submitted", "finished", "other"]), scalars),
        "token": st.one_of(st.sampled_from(["t1", "t2"]), scalars),
        "endpoint": st.one_of(st.just("/v1/chat/completions"), scalars),
        "model": scalars,
        "file_id": scalars,
        "requests": st.one_of(st.lists(st.lists(st.text(max_size=6), max_size=3), max_size=3), json_values),
        "batch_id": scalars,
        "status": st.one_of(st.sampled_from(["completed", "failed", "expired"]), scalars),
    },
)
journal_line = st.one_of(journal_record.map(json.dumps), json_values.map(json.dumps), st.text(max_size=40))
journal_file = st.tuples(st.lists(journal_line, max_size=8), st.integers(0, 30)).map(
    lambda parts: ("\n".join(parts[0]) + "\n")[: len("\n".join(parts[0])) + 1 - parts[1]]  # maybe torn at the end
)

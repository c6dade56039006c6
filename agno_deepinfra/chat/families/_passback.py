"""Reasoning passback learned from the server's refusal: a 400 saying it must go back, or must not.

The family table guesses whether a model's reasoning goes back on assistant tool-call turns; the
server's answer settles it. A thinking model's API may refuse a tool loop whose tool-call turns
lack the reasoning (DeepSeek: "The `reasoning_content` in the thinking mode must be passed back to
the API."; Moonshot: "thinking is enabled but reasoning_content is missing in assistant tool call
message"), and another API may refuse the field in input (Groq, Cerebras: "property
'reasoning_content' is unsupported"; a FastAPI server that forbids extra fields: 422 "Extra inputs
are not permitted"; the old DeepSeek-R1 API). The verdict is remembered per (base_url, model id)
with the 405 lessons (`profiles.learn`), where it overrides the profile, and the request is built
again and sent once more within the same attempt: no agno retry is used up. Sources: testing/WIRE.md
("Model families").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai

from agno_deepinfra._shared.config import logger
from agno_deepinfra._shared.error_text import error_text
from agno_deepinfra.chat.families.profiles import Lesson, ModelProfile, learn

# What a refusal says, besides naming the field. Conservative: the text must name the field, and
# which list is read depends on whether the request sent it (a request that sent the reasoning is
# never told to send it; one that did not is never told it may not).
_MUST_GO_BACK = ("passed back", "missing", "must include", "is required")
_REFUSED = ("unsupported", "not supported", "not permitted", "not allowed", "extra", "unknown", "unrecognized")


def sends_reasoning(body: dict[str, Any], field: str) -> bool:
    """Whether a request body sends reasoning back on any message."""
    return any(isinstance(message, dict) and field in message for message in body.get("messages") or ())


def verdict(status: int, text: str, field: str, sent: bool) -> Lesson | None:
    """What a 400 or 422 with `text` teaches about the model's reasoning, or None when it is about something else."""
    lowered = text.lower()
    if status not in (400, 422) or field.lower() not in lowered:
        return None
    if sent:
        return "reasoning_refused" if any(word in lowered for word in _REFUSED) else None
    return "reasoning_required" if any(word in lowered for word in _MUST_GO_BACK) else None


def after_reasoning_refusal(
    error: openai.APIStatusError,
    request: dict[str, Any],
    rebuild: Callable[[], dict[str, Any]],
    profile: ModelProfile,
    base_url: str,
    model_id: str,
    override: Any,
) -> dict[str, Any] | None:
    """After a 400 or 422 about reasoning: learn the verdict; the request built again, or None to fail.

    The lesson is kept even when the history has no reasoning to send (the server said what it
    wants); the request then fails with the server's error, since a resend could change nothing.
    """
    field = profile.reasoning_field
    sent = sends_reasoning(request["extra_body"], field)
    text = error_text(error.response)
    lesson = verdict(error.status_code, text, field, sent)
    if lesson is None:
        return None
    learn(base_url, model_id, lesson)
    retried = rebuild()  # `model_profile()` now carries the lesson
    if sends_reasoning(retried["extra_body"], field) == sent:
        return None
    was = f"reasoning_passback={profile.reasoning_passback!r}"
    explicit = override is not None and (not isinstance(override, dict) or "reasoning_passback" in override)
    over = f" (over the {was} of profile=: the server's answer wins)" if explicit else ""
    if lesson == "reasoning_required":
        what = f"requires its reasoning back as {field!r} on assistant tool-call turns"
    else:
        what = f"refuses {field!r} in input messages"
    logger.warning(
        "DeepInfra model %r %s (HTTP %s); sent once more %s it, and so from now on in this process%s",
        model_id,
        what,
        error.status_code,
        "with" if lesson == "reasoning_required" else "without",
        over,
    )
    return retried

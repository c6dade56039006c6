"""Prompt caching per agno session: a multi-turn conversation keeps hitting DeepInfra's prompt cache.

When a run has an agno session, `DeepInfra` sends a `prompt_cache_key` derived from agno's user
and session ids (hashed: the ids themselves never leave the process). Each turn resends the
conversation so far; with one key per session DeepInfra serves that shared prefix from its cache,
and `usage.prompt_tokens_details.cached_tokens` reaches agno's `metrics.cache_read_tokens`.
`DeepInfra(session_prompt_cache=False)` switches the key off; `prompt_cache_key=...` sets your own.

Run: `python cookbook/session_caching.py` (uses DEEPINFRA_API_KEY).
"""

import shutil
import tempfile
from pathlib import Path

from _check import answered
from agno.agent import Agent
from agno.db.sqlite import SqliteDb

from agno_deepinfra import DeepInfra

INSTRUCTIONS = (
    "You are the support assistant of Nimbus Outfitters, an outdoor gear shop. Returns are accepted "
    "within 45 days, shipping is free above 80 euros, tents carry a lifetime warranty. " * 4
)
TURNS = ["What is 12 + 30?", "And 7 + 8?", "What is 100 - 1?", "Thanks! What is 6 * 7?"]

if __name__ == "__main__":
    db_dir = tempfile.mkdtemp(prefix="session_caching_")
    try:
        agent = Agent(
            model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"),
            db=SqliteDb(db_file=str(Path(db_dir) / "sessions.db")),
            instructions=INSTRUCTIONS,
            add_history_to_context=True,
        )
        total_cost = total_cached = 0.0
        for turn, question in enumerate(TURNS, start=1):
            output = answered(agent.run(question, session_id="support-chat-42", user_id="ada@example.com"))
            metrics = output.metrics
            assert metrics is not None
            total_cost += metrics.cost or 0
            total_cached += metrics.cache_read_tokens
            print(
                f"Turn {turn}: {metrics.input_tokens} input tokens, {metrics.cache_read_tokens} from the cache, "
                f"cost ${metrics.cost or 0:.8f}"
            )
        print(f"Session: {int(total_cached)} cached input tokens, total cost ${total_cost:.8f}")
    finally:
        shutil.rmtree(db_dir, ignore_errors=True)

"""Open models: one agent with tools on three model families, each shaped to what its family needs.

Qwen3, Kimi K2 and Mistral each have their own tool-call syntax, id form and template rules; the
model's `ModelProfile` (chosen from its id) covers them: leaked tool calls recovered, ids sent
back in the family's form, role rules kept. Override with `DeepInfra(profile=...)`.

Run: `python cookbook/open_models.py`.
"""

from agno.agent import Agent

from agno_deepinfra import DeepInfra

MODELS = [
    "Qwen/Qwen3-235B-A22B-Instruct-2507",
    "moonshotai/Kimi-K2-Instruct-0905",
    "mistralai/Mistral-Small-3.2-24B-Instruct-2506",
]


def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city to look up.
    """
    return {"Paris": "Sunny, 21C", "Tokyo": "Light rain, 17C"}.get(city, "Cloudy, 15C")


if __name__ == "__main__":
    for model_id in MODELS:
        model = DeepInfra(id=model_id)
        profile = model.model_profile()
        print(
            f"{model_id}: family {profile.family!r}, recovers {', '.join(profile.tool_markup) or 'no markup'}, "
            f"tool-call ids {profile.tool_call_ids!r}, alternating turns {profile.strict_alternation}"
        )
        agent = Agent(model=model, tools=[get_weather], instructions="Use the tool, then answer in one sentence.")
        output = agent.run("What is the weather in Paris?")
        print(f"  -> {output.content}")

"""DeepInfra's sampling parameters, as typed fields of the model.

`top_k`, `min_p`, `repetition_penalty`, `service_tier`, `chat_template_kwargs`,
`prompt_cache_key` and `reasoning` are DeepInfra extensions the openai SDK does not know; the
plugin sends them at the top level of the request body (through `extra_body`), only when set.
`max_completion_tokens` is sent as DeepInfra's `max_tokens`.

Run: `python cookbook/sampling_params.py`.
"""

from _check import answered
from agno.agent import Agent

from agno_deepinfra import DeepInfra

model = DeepInfra(
    id="Qwen/Qwen3-32B",
    temperature=0.7,
    top_k=40,
    min_p=0.05,
    repetition_penalty=1.1,
    service_tier="priority",
    chat_template_kwargs={"enable_thinking": False},  # Qwen3: answer directly, no <think> block
    max_completion_tokens=200,
)
agent = Agent(model=model)

if __name__ == "__main__":
    print("Request fields sent besides the messages:", model.get_request_params())
    print(answered(agent.run("Write a haiku about rivers.")).content)

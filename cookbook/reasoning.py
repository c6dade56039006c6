"""Reasoning models: DeepInfra's `reasoning_content` and `<think>` blocks as agno reasoning.

DeepSeek-R1 sends its reasoning as `reasoning_content`; Qwen3 thinks inside `<think>...</think>`
in the content. Both end up in `RunOutput.reasoning_content`, streamed or not, and the answer
stays clean. `chat_template_kwargs={"enable_thinking": False}` turns Qwen3's thinking off.

Run: `python cookbook/reasoning.py`.
"""

from _check import answered
from agno.agent import Agent

from agno_deepinfra import DeepInfra

r1 = Agent(model=DeepInfra(id="deepseek-ai/DeepSeek-R1-0528"))
qwen = Agent(model=DeepInfra(id="Qwen/Qwen3-32B"))

if __name__ == "__main__":
    question = "Is 391 a prime number?"
    output = answered(r1.run(question))
    print(f"DeepSeek-R1 reasoning:\n{output.reasoning_content}\n")
    print(f"DeepSeek-R1 answer:\n{output.content}\n")

    # Streamed: the <think> block goes to reasoning_content, only the answer is printed.
    events = list(qwen.run(question, stream=True, yield_run_output=True))
    streamed = answered(events[-1])  # the RunOutput, or a RunErrorEvent when the run failed
    print(f"Qwen3 reasoning (streamed):\n{streamed.reasoning_content}\n")
    print(f"Qwen3 answer (streamed):\n{streamed.content}")

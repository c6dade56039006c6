"""Basic: one DeepInfra-backed agent answering one question.

agno reports a failed model call in the run's status, not by raising: `answered` (cookbook/_check.py)
ends the recipe with exit status 1 when the run failed, as every recipe here does.

Run: `python cookbook/basic.py` (uses DEEPINFRA_API_KEY; `make demo` runs it against the emulator).
"""

from _check import answered
from agno.agent import Agent

from agno_deepinfra import DeepInfra

agent = Agent(model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"), markdown=True)

if __name__ == "__main__":
    output = agent.run("Share a two-sentence horror story.")
    print(answered(output).content)

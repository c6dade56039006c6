"""Streaming: print the answer as DeepInfra generates it.

Run: `python cookbook/basic_stream.py`.
"""

from _check import streamed
from agno.agent import Agent

from agno_deepinfra import DeepInfra

agent = Agent(model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"), markdown=True)

if __name__ == "__main__":
    # Prints each piece as it arrives; a failed run ends with a `RunErrorEvent` instead.
    streamed(agent.run("Share a two-sentence horror story.", stream=True))

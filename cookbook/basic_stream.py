"""Streaming: print the answer as DeepInfra generates it.

Run: `python cookbook/basic_stream.py`.
"""

from agno.agent import Agent

from agno_deepinfra import DeepInfra

agent = Agent(model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"), markdown=True)

if __name__ == "__main__":
    agent.print_response("Share a two-sentence horror story.", stream=True)

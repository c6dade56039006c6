"""Basic: one DeepInfra-backed agent answering one question.

Run: `python cookbook/basic.py` (uses DEEPINFRA_API_KEY; `make demo` runs it against the emulator).
"""

from agno.agent import Agent

from agno_deepinfra import DeepInfra

agent = Agent(model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"), markdown=True)

if __name__ == "__main__":
    agent.print_response("Share a two-sentence horror story.")

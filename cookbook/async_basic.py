"""Async: run several questions concurrently on one DeepInfra model.

One `DeepInfra` instance serves every coroutine (and every `asyncio.run` call): the plugin keeps
one async client per event loop.

Run: `python cookbook/async_basic.py`.
"""

import asyncio

from _check import answered
from agno.agent import Agent

from agno_deepinfra import DeepInfra

agent = Agent(model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"))


async def main() -> None:
    questions = ["Name a prime number.", "Name a noble gas.", "Name a Baroque composer."]
    outputs = await asyncio.gather(*(agent.arun(q) for q in questions))
    for question, output in zip(questions, outputs, strict=True):
        print(f"Q: {question}\nA: {answered(output).content}\n")


if __name__ == "__main__":
    asyncio.run(main())
    # A second asyncio.run on the same agent works too.
    output = asyncio.run(agent.arun("And one more: name a river in Africa."))
    print(answered(output).content)

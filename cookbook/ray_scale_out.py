"""Scale out on Ray: agent runs fanned out as Ray tasks, and one agent kept in a Ray actor.

The agent built here travels to Ray's worker processes by pickle: its settings and API key,
never its connections, which each worker opens for itself on first use. `max_concurrency="auto"`
lets each worker learn its share of DeepInfra's per-model cap from the 429s it draws, so the
whole cluster stays under the cap without any coordination.

Ray starts locally (`ray.init()`, about 5 s on 2 cores) unless RAY_ADDRESS names a cluster to
join (`RAY_ADDRESS=ray://head:10001 python cookbook/ray_scale_out.py`).

Run: `pip install "agno-deepinfra[ray]"`, then `python cookbook/ray_scale_out.py`.
"""

import os

import ray
from _check import answered
from agno.agent import Agent
from agno.run.agent import RunOutput

from agno_deepinfra import DeepInfra

MODEL_ID = "meta-llama/Meta-Llama-3.1-8B-Instruct"
QUESTIONS = [f"In one sentence, what is {topic}?" for topic in ("Ray", "a prime", "a haiku", "DNS", "a CPU", "jazz")]


def build_agent() -> Agent:
    model = DeepInfra(id=MODEL_ID, max_tokens=48, retries=3, exponential_backoff=True, max_concurrency="auto")
    return Agent(model=model)


@ray.remote
def answer(agent: Agent, question: str) -> RunOutput:
    """One agent run as a Ray task, in whichever worker Ray picks: its output comes back to the driver."""
    return agent.run(question)


@ray.remote
class Assistant:
    """One agent kept alive in its own worker: its connections and learned limit stay there between calls."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.calls = 0

    async def ask(self, question: str) -> RunOutput:
        self.calls += 1
        return await self.agent.arun(question)

    def served(self) -> int:
        return self.calls


def start_ray() -> str:
    if os.getenv("RAY_ADDRESS"):  # join the cluster it names
        ray.init()
        return f"joined the Ray cluster at {os.environ['RAY_ADDRESS']}"
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    return "started a local Ray (set RAY_ADDRESS to join a cluster instead)"


def main() -> None:
    print(start_ray())
    try:
        agent = build_agent()
        shared = ray.put(agent)  # pickled once, shared by every task
        outputs = ray.get([answer.remote(shared, question) for question in QUESTIONS])
        answers = [str(answered(output).content) for output in outputs]  # the driver checks every run
        print(f"{len(answers)}/{len(QUESTIONS)} runs completed as Ray tasks")
        for question, text in zip(QUESTIONS, answers, strict=True):
            print(f"- {question} -> {text[:80]}")

        assistant = Assistant.remote(agent)  # type: ignore[attr-defined]
        outputs = ray.get([assistant.ask.remote(question) for question in QUESTIONS[:3]])
        replies = [str(answered(output).content) for output in outputs]
        served = ray.get(assistant.served.remote())
        print(f"the actor's agent answered {served} questions; first: {replies[0][:80]}")
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()

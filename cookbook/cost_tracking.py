"""Cost tracking: DeepInfra's `usage.estimated_cost` in agno's metrics.

Every DeepInfra response carries an estimated cost in USD; the plugin reports it as agno's
`metrics.cost`, which agno sums over the model calls of a run (tool-call steps included).

Run: `python cookbook/cost_tracking.py`.
"""

from _check import answered
from agno.agent import Agent

from agno_deepinfra import DeepInfra


def get_population(city: str) -> str:
    """Get the population of a city.

    Args:
        city: The city to look up.
    """
    return {"Tokyo": "37 million", "Lagos": "16 million"}.get(city, "unknown")


agent = Agent(model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"), tools=[get_population])

if __name__ == "__main__":
    output = answered(agent.run("What is the population of Tokyo?"))
    print(output.content)
    metrics = output.metrics
    assert metrics is not None
    print(f"Input tokens:  {metrics.input_tokens}")
    print(f"Output tokens: {metrics.output_tokens}")
    print(f"Run cost:      ${metrics.cost or 0:.8f} (DeepInfra's estimated_cost, summed over the run's model calls)")

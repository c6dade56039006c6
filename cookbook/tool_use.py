"""Tool use: the model calls Python functions, in parallel when it can.

Run: `python cookbook/tool_use.py`.
"""

from _check import streamed
from agno.agent import Agent

from agno_deepinfra import DeepInfra


def get_weather(city: str) -> str:
    """Get the current weather for a city.

    Args:
        city: The city to look up.
    """
    forecasts = {"Paris": "Sunny, 21C", "Tokyo": "Light rain, 17C"}
    return forecasts.get(city, "Cloudy, 15C")


def get_local_time(city: str) -> str:
    """Get the local time in a city.

    Args:
        city: The city to look up.
    """
    return {"Paris": "14:05", "Tokyo": "21:05"}.get(city, "12:00")


agent = Agent(
    model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    tools=[get_weather, get_local_time],
    instructions="Use the tools to answer; say which tool gave which fact.",
    markdown=True,
)

if __name__ == "__main__":
    streamed(agent.run("What is the weather and the local time in Paris?", stream=True))

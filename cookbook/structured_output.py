"""Structured output: a validated pydantic object from DeepInfra's JSON mode.

JSON mode works on most DeepInfra models; one that refuses it (a 405) gets agno's JSON prompt
instead, in the same attempt (the model's profile holds the ladder). For models that support JSON
schemas, pass `DeepInfra(..., supports_json_schema_outputs=True)` to send the schema itself.

Run: `python cookbook/structured_output.py`.
"""

from _check import answered
from agno.agent import Agent
from pydantic import BaseModel, Field

from agno_deepinfra import DeepInfra


class MovieScript(BaseModel):
    name: str = Field(..., description="Give a name to this movie")
    setting: str = Field(..., description="Provide a nice setting for a blockbuster movie.")
    genre: str = Field(..., description="Genre of the movie.")
    characters: list[str] = Field(..., description="Name of characters for this movie.")
    storyline: str = Field(..., description="3 sentence storyline for the movie. Make it exciting!")


agent = Agent(
    model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    description="You write movie scripts.",
    output_schema=MovieScript,
)

if __name__ == "__main__":
    movie = answered(agent.run("New York")).content
    assert isinstance(movie, MovieScript), movie
    print(movie.model_dump_json(indent=2))

"""The model catalog: which models DeepInfra serves, their context windows and prices.

`list_models()` (and `alist_models()`) return typed entries from `GET /v1/openai/models`.
A wrong model id in an agent's error message comes with the closest ids from this catalog.

Run: `python cookbook/list_models.py`.
"""

from _check import fail
from agno.agent import Agent

from agno_deepinfra import DeepInfra, list_models

if __name__ == "__main__":
    models = list_models()
    print(f"{len(models)} models. Some that can call tools:")
    print(f"{'id':<50} {'context':>8} {'$/1M in':>8} {'$/1M out':>9}")
    for model in [m for m in models if "tools" in m.tags][:10]:
        price_in, price_out = model.pricing.input_per_million, model.pricing.output_per_million
        print(f"{model.id:<50} {model.context_length or 0:>8} {price_in or 0:>8.3f} {price_out or 0:>9.3f}")

    print("\nA typo in the model id gets suggestions:")
    output = Agent(model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turb")).run("hi")
    print(output.content)
    if "closest available ids" not in str(output.content):  # this run should fail, and name the right ids
        fail("the typo's error came without suggestions")

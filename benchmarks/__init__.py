"""Benchmarks of agno-deepinfra against the raw openai SDK, agno's built-in DeepInfra class and LiteLLM."""

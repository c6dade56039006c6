"""The official `deepinfra` Python SDK: native embeddings, native text generation, model info, errors.

The SDK's inference wrappers take a full endpoint URL in place of a model name; its
`DeepInfraClient` takes `base_url` (or `DEEPINFRA_BASE_URL`). The wrappers build only the top
level of their response dataclasses (`tolerant_dataclass`): nested values such as
`inference_status` and `results[i]` stay dicts, so they are read here as dicts.
"""

from __future__ import annotations

import math

import deepinfra
import pytest
from conftest import CHAT_MODEL, EMBEDDING_MODEL
from deepinfra import DeepInfraClient, Embeddings, RequestSpec, TextGeneration

from agno_deepinfra.testing import DeepInfraEmulator, Fault


def endpoint(emu: DeepInfraEmulator, model: str) -> str:
    return f"{emu.root_url}/v1/inference/{model}"


def test_native_embeddings(emu: DeepInfraEmulator) -> None:
    response = Embeddings(endpoint(emu, EMBEDDING_MODEL), auth_token=emu.api_key).generate(
        {"inputs": ["a cat sat", "a kitten sat", "stock prices fell"]}
    )
    assert len(response.embeddings) == 3 and len(response.embeddings[0]) == 1024
    assert math.isclose(math.hypot(*response.embeddings[0]), 1.0, rel_tol=1e-6)
    assert response.input_tokens > 0 and response.inference_status["status"] == "succeeded"


def test_native_text_generation(emu: DeepInfraEmulator) -> None:
    response = TextGeneration(endpoint(emu, CHAT_MODEL), auth_token=emu.api_key).generate({"input": "What is 9 + 1?"})
    assert "10" in response.results[0]["generated_text"]
    assert response.num_tokens > 0 and response.num_input_tokens > 0
    assert response.inference_status["tokens_generated"] == response.num_tokens


def test_model_info_with_the_client(emu: DeepInfraEmulator) -> None:
    client = DeepInfraClient(api_key=emu.api_key, base_url=emu.root_url)
    info = client.request(RequestSpec("GET", f"/models/{CHAT_MODEL}")).json()
    assert info["model_name"] == CHAT_MODEL and "tools" in info["tags"]


def test_bad_key_is_an_authentication_error(emu: DeepInfraEmulator) -> None:
    with pytest.raises(deepinfra.AuthenticationError) as caught:
        Embeddings(endpoint(emu, EMBEDDING_MODEL), auth_token="wrong").generate({"inputs": ["x"]})
    assert caught.value.status_code == 401 and "invalid or missing API key" in caught.value.message


def test_unknown_model_is_not_found(emu: DeepInfraEmulator) -> None:
    with pytest.raises(deepinfra.NotFoundError) as caught:
        Embeddings(endpoint(emu, "acme/no-such-model"), auth_token=emu.api_key).generate({"inputs": ["x"]})
    # DeepInfra's own text first; the emulator adds that its catalog is a snapshot (and how to add a model).
    assert caught.value.message.startswith("Model is not available")
    with pytest.raises(deepinfra.NotFoundError) as info:
        DeepInfraClient(api_key=emu.api_key, base_url=emu.root_url).request(RequestSpec("GET", "/models/acme/none"))
    assert info.value.message == "Model not found"


@pytest.mark.parametrize(
    ("status", "body", "error", "message"),
    [
        (429, {"error": "Rate limited"}, deepinfra.RateLimitError, "Rate limited"),
        (503, {"detail": {"error": "No capacity"}}, deepinfra.CapacityError, "No capacity"),
        (
            400,
            {"error": {"message": "bad input", "type": "invalid_request_error"}},
            deepinfra.BadRequestError,
            "bad input",
        ),
        (500, {"detail": "Internal"}, deepinfra.InternalServerError, "Internal"),
    ],
)
def test_error_bodies_parse_to_the_sdk_exceptions(
    emu: DeepInfraEmulator, status: int, body: object, error: type[deepinfra.APIStatusError], message: str
) -> None:
    emu.queue(Fault.status(status, body=body), route="inference")
    with pytest.raises(error) as caught:
        Embeddings(endpoint(emu, EMBEDDING_MODEL), auth_token=emu.api_key).generate({"inputs": ["x"]})
    assert (caught.value.status_code, caught.value.message) == (status, message)

"""DeepInfraTools through agno's real Agent against the emulator: artifacts, bad input, errors, retries, faults."""

from __future__ import annotations

import asyncio
import base64
import copy
import struct
import subprocess
import sys
import wave
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from agno.agent import Agent
from agno.run.agent import RunCompletedEvent, RunOutput, ToolCallCompletedEvent
from agno.run.base import RunStatus
from agno.tools.function import ToolResult

from agno_deepinfra import DeepInfra, DeepInfraTools
from agno_deepinfra.testing import DeepInfraEmulator, Fault, Reply, ToolCall
from agno_deepinfra.tools import DEFAULT_IMAGE_MODEL, DEFAULT_SPEECH_MODEL, DEFAULT_TRANSCRIPTION_MODEL

MakeTools = Callable[..., DeepInfraTools]
CHAT_MODEL = "meta-llama/Llama-3.3-70B-Instruct-Turbo"


@pytest.fixture
def make_tools(emu: DeepInfraEmulator, tmp_path: Path) -> Iterator[MakeTools]:
    made: list[DeepInfraTools] = []

    def make(**kwargs: Any) -> DeepInfraTools:
        kwargs.setdefault("api_key", emu.api_key)
        kwargs.setdefault("audio_dir", tmp_path)  # the tests write their audio there
        tools = DeepInfraTools(base_url=emu.root_url, **kwargs)
        made.append(tools)
        return tools

    yield make
    for tools in made:
        tools.close()


def agent_with(tools: DeepInfraTools, emu: DeepInfraEmulator) -> Agent:
    # The chat model only reads text: the media stays in the run output instead of going back to it.
    model = DeepInfra(id=CHAT_MODEL, base_url=emu.base_url, api_key=emu.api_key)
    return Agent(model=model, tools=[tools], send_media_to_model=False, telemetry=False)


def run(agent: Agent, prompt: str, path: str) -> RunOutput:
    return agent.run(prompt) if path == "run" else asyncio.run(agent.arun(prompt))


def tool_results(emu: DeepInfraEmulator) -> list[str]:
    """What the model read back from the tools, from the last chat request."""
    messages = emu.requests_for("chat")[-1].body["messages"]
    return [str(message["content"]) for message in messages if message["role"] == "tool"]


def write_wav(path: Path, seconds: float = 1.0, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(b"\x00\x00" * int(seconds * rate))
    return path


# ------------------------------------------------------------------------- through an Agent


@pytest.mark.parametrize("path", ["run", "arun"])
def test_agent_draws_an_image_into_run_output(emu: DeepInfraEmulator, make_tools: MakeTools, path: str) -> None:
    output = run(agent_with(make_tools(), emu), "Draw an image of a lighthouse at dawn", path)

    assert output.status == RunStatus.completed, output.content
    (image,) = output.images or []
    assert image.mime_type == "image/png" and image.content is not None
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", image.content[16:24]) == (1024, 1024)  # IHDR width and height
    assert image.original_prompt == "Draw an image of a lighthouse at dawn"
    (request,) = emu.requests_for("images")
    assert request.body == {
        "model": DEFAULT_IMAGE_MODEL,
        "prompt": "Draw an image of a lighthouse at dawn",
        "n": 1,
        "size": "1024x1024",
        "response_format": "b64_json",
    }
    assert request.headers["authorization"] == f"Bearer {emu.api_key}"
    assert "Generated 1 image(s) of 1024x1024" in tool_results(emu)[0]


@pytest.mark.parametrize("path", ["run", "arun"])
def test_agent_speaks_into_run_output_audio(emu: DeepInfraEmulator, make_tools: MakeTools, path: str) -> None:
    output = run(agent_with(make_tools(speech_format="wav"), emu), "Say in speech: the meeting moved", path)

    assert output.status == RunStatus.completed, output.content
    (audio,) = output.audio or []
    assert audio.mime_type == "audio/wav" and audio.content is not None
    with wave.open(BytesIO(audio.content)) as reader:
        assert reader.getnchannels() == 1 and reader.getnframes() > 0
    (request,) = emu.requests_for("speech")
    assert request.body == {
        "model": DEFAULT_SPEECH_MODEL,
        "input": "Say in speech: the meeting moved",
        "voice": "af_heart",
        "response_format": "wav",
        "speed": 1.0,
    }
    assert f"with ID: {audio.id}" in tool_results(emu)[0]


@pytest.mark.parametrize("path", ["run", "arun"])
def test_agent_transcribes_an_uploaded_wav(
    emu: DeepInfraEmulator, make_tools: MakeTools, tmp_path: Path, path: str
) -> None:
    recording = write_wav(tmp_path / "memo.wav", seconds=1.5)
    output = run(agent_with(make_tools(), emu), f"Transcribe the audio file {recording} please", path)

    assert output.status == RunStatus.completed, output.content
    assert "1.5 seconds of audio" in str(output.content)
    (request,) = emu.requests_for("transcriptions")
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert request.body["model"] == DEFAULT_TRANSCRIPTION_MODEL
    assert request.body["file"]["filename"] == "memo.wav"
    assert request.body["file"]["size"] == recording.stat().st_size


def test_transcribing_the_emulators_speech_gives_the_text_back(make_tools: MakeTools, tmp_path: Path) -> None:
    tools = make_tools(speech_format="flac")
    spoken = tools.generate_speech("Lunch is at noon")
    file = tmp_path / "lunch.flac"
    file.write_bytes(spoken.audios[0].content)  # type: ignore[index,arg-type]
    assert tools.transcribe_audio(str(file)).content == "Lunch is at noon"


def test_scripted_tool_call_reaches_the_toolkit(emu: DeepInfraEmulator, make_tools: MakeTools) -> None:
    emu.queue(Reply(tool_calls=[ToolCall("generate_image", {"prompt": "a red fox", "size": "512x768"})]))
    output = agent_with(make_tools(), emu).run("anything")

    assert output.status == RunStatus.completed
    assert emu.requests_for("images")[0].body["size"] == "512x768"
    assert struct.unpack(">II", output.images[0].content[16:24]) == (512, 768)  # type: ignore[index]


def test_enable_flags_choose_the_tools() -> None:
    assert list(DeepInfraTools(api_key="k", enable_transcription=False).functions) == [
        "generate_image",
        "generate_speech",
    ]
    assert list(
        DeepInfraTools(api_key="k", enable_image_generation=False, enable_speech_generation=False).functions
    ) == ["transcribe_audio"]
    none = DeepInfraTools(
        api_key="k", enable_image_generation=False, enable_transcription=False, enable_speech_generation=False, all=True
    )
    assert set(none.functions) == set(none.async_functions) == {"generate_image", "transcribe_audio", "generate_speech"}


# ------------------------------------------------------------------ bad input, no request sent


def call_tool(tools: DeepInfraTools, path: str, name: str, *args: Any, **kwargs: Any) -> ToolResult:
    """The sync tool `name`, or its async twin (`a` + name) run to completion."""
    if path == "sync":
        result: ToolResult = getattr(tools, name)(*args, **kwargs)
        return result
    return asyncio.run(getattr(tools, "a" + name)(*args, **kwargs))


@pytest.mark.parametrize("path", ["sync", "async"])
def test_bad_input_is_a_readable_result_and_sends_nothing(
    emu: DeepInfraEmulator, make_tools: MakeTools, tmp_path: Path, path: str
) -> None:
    tools = make_tools(max_audio_bytes=1000)
    (tmp_path / "notes.txt").write_text("not audio")
    (tmp_path / "empty.wav").write_bytes(b"")
    big = write_wav(tmp_path / "long.wav", seconds=1.0)

    def call(name: str, *args: Any, **kwargs: Any) -> ToolResult:
        return call_tool(tools, path, name, *args, **kwargs)

    cases = {
        "no audio file": call("transcribe_audio", str(tmp_path / "missing.wav")),
        "unsupported audio format '.txt' for notes.txt: use one of flac, mp3": call(
            "transcribe_audio", str(tmp_path / "notes.txt")
        ),
        "empty.wav is empty": call("transcribe_audio", str(tmp_path / "empty.wav")),
        f"long.wav is {big.stat().st_size:,} bytes, over the 1,000-byte limit": call("transcribe_audio", str(big)),
        "unknown image size '999x999'": call("generate_image", "a fox", size="999x999"),
        "unknown image size 'huge': give WIDTHxHEIGHT": call("generate_image", "a fox", size="huge"),
        "the prompt is empty": call("generate_image", "  "),
        "the text to speak is empty": call("generate_speech", ""),
    }
    for expected, result in cases.items():
        assert result.content.startswith("Failed to "), result.content
        assert expected in result.content
    assert emu.requests == []


@pytest.mark.parametrize("path", ["run", "arun"])
def test_bad_tool_arguments_from_the_model_do_not_break_the_run(
    emu: DeepInfraEmulator, make_tools: MakeTools, path: str
) -> None:
    emu.queue(Reply(tool_calls=[ToolCall("transcribe_audio", {"audio_path": "/no/such/meeting.wav"})]))
    output = run(agent_with(make_tools(), emu), "Transcribe it", path)

    assert output.status == RunStatus.completed
    assert tool_results(emu) == [
        "Failed to transcribe audio: no audio file '/no/such/meeting.wav' in the folder this toolkit reads audio from "
        "(check the path)"
    ]
    assert emu.requests_for("transcriptions") == []


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"image_size": "1000x1000"}, "unknown image size '1000x1000'"),
        ({"image_count": 5}, "image_count must be 1 to 4"),
        ({"speech_format": "aac"}, "speech_format must be one of mp3, opus, flac, wav, pcm"),
        ({"speech_speed": 5.0}, "speech_speed must be 0.25 to 4.0"),
        ({"base_url": "api.deepinfra.com"}, "must be an http(s) URL"),
    ],
)
def test_bad_settings_fail_at_construction(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DeepInfraTools(api_key="k", **settings)


def test_other_image_models_can_skip_the_size_check(emu: DeepInfraEmulator, make_tools: MakeTools) -> None:
    tools = make_tools(image_model="black-forest-labs/FLUX-2-dev", image_sides=None, image_size="1000x1000")
    assert tools.generate_image("a fox").images is not None
    assert emu.requests_for("images")[0].body["size"] == "1000x1000"


def test_missing_key_is_a_tool_result_before_any_request(emu: DeepInfraEmulator) -> None:
    tools = DeepInfraTools(base_url=emu.root_url)
    result = tools.generate_image("a fox")
    assert result.content.startswith("Failed to generate image: DEEPINFRA_API_KEY is not set")
    assert emu.requests == []


# ------------------------------------------------------------- DeepInfra errors and retries


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            Fault.status(402),
            "Failed to generate image: DeepInfra HTTP 402 for image model 'black-forest-labs/FLUX-1-schnell': "
            "Payment required: your account balance is too low (the DeepInfra account needs funds",
        ),
        (
            Fault.status(400, body={"error": {"message": "prompt was flagged", "type": "invalid_request_error"}}),
            "DeepInfra HTTP 400 for image model 'black-forest-labs/FLUX-1-schnell': prompt was flagged",
        ),
        (Fault.status(502, text="<html><h1>502 Bad Gateway</h1></html>"), "DeepInfra HTTP 502 for image model"),
        (Fault.status(401), "check DEEPINFRA_API_KEY"),
    ],
)
def test_deepinfra_errors_reach_the_model_as_tool_results(
    emu: DeepInfraEmulator, make_tools: MakeTools, fault: Fault, expected: str
) -> None:
    emu.queue(fault, route="images")
    output = agent_with(make_tools(), emu).run("Draw an image of a fox")

    assert output.status == RunStatus.completed
    assert output.images is None
    (result,) = tool_results(emu)
    assert expected in result
    assert result.startswith("Failed to generate image: ")


def test_unknown_model_is_deepinfras_404(make_tools: MakeTools) -> None:
    result = make_tools(speech_model="nobody/no-such-tts").generate_speech("hello")
    assert "DeepInfra HTTP 404 for text-to-speech model 'nobody/no-such-tts': Model is not available" in result.content


@pytest.mark.parametrize("path", ["sync", "async"])
def test_transient_failures_are_retried_with_the_configured_waits(
    emu: DeepInfraEmulator, make_tools: MakeTools, slept: list[float], path: str
) -> None:
    tools = make_tools(retries=2, delay_between_retries=0.5, exponential_backoff=True)
    emu.queue(Fault.status(503, headers={"Retry-After": "3"}), route="speech")
    emu.queue(Fault.drop(), route="speech")

    result = tools.generate_speech("hi") if path == "sync" else asyncio.run(tools.agenerate_speech("hi"))

    assert result.audios is not None, result.content
    assert len(emu.requests_for("speech")) == 3
    assert slept == [3.0, 1.0]  # Retry-After raises the first wait; then 0.5 * 2**1


@pytest.mark.parametrize("path", ["sync", "async"])
def test_final_errors_are_not_retried(
    emu: DeepInfraEmulator, make_tools: MakeTools, slept: list[float], path: str, tmp_path: Path
) -> None:
    tools = make_tools(retries=3)
    emu.queue(Fault.status(422, body={"detail": [{"loc": ["body", "language"], "msg": "bad code"}]}), "transcriptions")
    audio = str(write_wav(tmp_path / "a.wav"))

    result = tools.transcribe_audio(audio) if path == "sync" else asyncio.run(tools.atranscribe_audio(audio))

    assert (
        "DeepInfra HTTP 422 for speech recognition model" in result.content and "language: bad code" in result.content
    )
    assert len(emu.requests_for("transcriptions")) == 1
    assert slept == []


def test_retries_run_out_into_a_readable_result(
    emu: DeepInfraEmulator, make_tools: MakeTools, slept: list[float]
) -> None:
    emu.always(Fault.status(503), route="images")
    result = make_tools(retries=1).generate_image("a fox")
    assert "DeepInfra HTTP 503 for image model" in result.content and "No capacity available" in result.content
    assert len(emu.requests_for("images")) == 2


# ---------------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("route", "fault", "expected"),
    [
        ("images", Fault.drop(), "DeepInfra request failed for image model"),
        ("images", Fault.malformed_json(), "the response is not valid JSON"),
        ("transcriptions", Fault.drop_after(0), "DeepInfra request failed for speech recognition model"),
        ("speech", Fault.status(500), "DeepInfra HTTP 500 for text-to-speech model"),
        ("images", Fault.status(200, body={"data": []}), "no 'data' list of images"),
        ("images", Fault.status(200, body={"data": [{"b64_json": "%%%"}]}), "not valid base64"),
    ],
)
def test_faults_become_tool_results(
    emu: DeepInfraEmulator, make_tools: MakeTools, tmp_path: Path, route: str, fault: Fault, expected: str
) -> None:
    emu.queue(fault, route=route)
    tools = make_tools()
    calls: dict[str, Callable[[], ToolResult]] = {
        "images": lambda: tools.generate_image("a fox"),
        "transcriptions": lambda: tools.transcribe_audio(str(write_wav(tmp_path / "a.wav"))),
        "speech": lambda: tools.generate_speech("hello"),
    }
    result = calls[route]()
    assert result.content.startswith("Failed to ") and expected in result.content, result.content


def test_a_hung_request_times_out(emu: DeepInfraEmulator, make_tools: MakeTools) -> None:
    emu.queue(Fault.hang(), route="speech")
    result = make_tools(timeout=0.5).generate_speech("hello")
    assert "DeepInfra request timed out for text-to-speech model 'hexgrad/Kokoro-82M'" in result.content


# ------------------------------------------------------------------------ configuration


def test_base_url_and_key_come_from_the_environment(emu: DeepInfraEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPINFRA_BASE_URL", emu.root_url)
    monkeypatch.setenv("DEEPINFRA_API_KEY", emu.api_key)
    tools = DeepInfraTools()
    assert tools.base_url == emu.base_url
    assert tools.generate_image("a fox").images is not None


def test_the_key_stays_out_of_repr_results_and_logs(emu: DeepInfraEmulator, caplog: pytest.LogCaptureFixture) -> None:
    secret = "sk-very-secret-key"
    tools = DeepInfraTools(base_url=emu.root_url, api_key=secret)
    result = tools.generate_image("a fox")  # the emulator refuses the key: 401
    assert "DeepInfra HTTP 401" in result.content
    for text in (repr(tools), str(tools), result.content, caplog.text):
        assert secret not in text


def test_a_callers_clients_are_used_and_shared_by_copies(emu: DeepInfraEmulator) -> None:
    with httpx.Client() as client:
        tools = DeepInfraTools(base_url=emu.root_url, api_key=emu.api_key, client=client)
        copied = copy.deepcopy(tools)
        assert copied.client is client
        assert copied.generate_image("a fox").images is not None
        assert not client.is_closed


def test_arun_uses_the_async_twins(
    emu: DeepInfraEmulator, make_tools: MakeTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_sync_calls(*args: Any) -> ToolResult:
        raise AssertionError("arun called the sync tool")

    monkeypatch.setattr(DeepInfraTools, "_run", no_sync_calls)
    output = asyncio.run(agent_with(make_tools(), emu).arun("Draw an image of a fox"))
    assert output.status == RunStatus.completed and output.images is not None


def test_the_toolkit_stands_beside_the_embedder_not_on_the_chat_model() -> None:
    code = "import sys, agno_deepinfra.tools; print(sorted(m for m in sys.modules if m.startswith('agno_deepinfra')))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "agno_deepinfra._shared.http" in loaded
    assert "agno_deepinfra.chat" not in loaded and "agno_deepinfra.testing" not in loaded


@pytest.mark.parametrize("path", ["stream", "astream"])
def test_streamed_runs_carry_the_image_in_their_events(
    emu: DeepInfraEmulator, make_tools: MakeTools, path: str
) -> None:
    agent = agent_with(make_tools(), emu)
    prompt = "Draw an image of a fox"
    if path == "stream":
        events = list(agent.run(prompt, stream=True, stream_events=True))
    else:

        async def collect() -> list[Any]:
            return [event async for event in agent.arun(prompt, stream=True, stream_events=True)]

        events = asyncio.run(collect())
    tool_done = [event for event in events if isinstance(event, ToolCallCompletedEvent)]
    completed = [event for event in events if isinstance(event, RunCompletedEvent)]
    assert len(tool_done) == 1 and tool_done[0].images is not None
    assert completed[0].images is not None
    assert completed[0].images[0].content.startswith(b"\x89PNG")  # type: ignore[union-attr]


def test_from_model_shares_the_models_settings(emu: DeepInfraEmulator, slept: list[float]) -> None:
    model = DeepInfra(base_url=emu.root_url, api_key=emu.api_key, retries=1, delay_between_retries=0.25, timeout=30)
    tools = DeepInfraTools.from_model(model, speech_format="wav")
    assert (tools.base_url, tools.api_key, tools.timeout, tools.speech_format) == (emu.base_url, emu.api_key, 30, "wav")
    emu.queue(Fault.status(503), route="speech")
    assert tools.generate_speech("hello").audios is not None
    assert slept == [0.25]


# ------------------------------------------------------------ transcribe_audio stays in its folder


@pytest.mark.parametrize("path", ["sync", "async"])
def test_transcribe_audio_reads_only_inside_its_folder_and_says_nothing_of_the_rest(
    emu: DeepInfraEmulator, make_tools: MakeTools, tmp_path: Path, path: str
) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    write_wav(allowed / "memo.wav")
    (allowed / "folder.wav").mkdir()
    outside = write_wav(tmp_path / "private.wav")
    (allowed / "link.wav").symlink_to(outside)
    tools = make_tools(audio_dir=allowed)

    def transcribe(audio_path: str) -> str:
        result = (
            tools.transcribe_audio(audio_path) if path == "sync" else asyncio.run(tools.atranscribe_audio(audio_path))
        )
        return str(result.content)

    assert "seconds of audio" in transcribe("memo.wav")  # relative to the folder
    assert "seconds of audio" in transcribe(str(allowed / "memo.wav"))  # absolute, inside it
    refused = {
        name: transcribe(name)
        for name in (
            "missing.wav",  # does not exist
            "../private.wav",  # exists, outside
            str(outside),  # exists, outside, absolute
            "link.wav",  # a link inside that leads outside
            "folder.wav",  # not a file
            "~/private.wav",  # `~` is a name, not the home folder
            "/etc/../etc/hostname.wav",
        )
    }
    # One message for all of them, naming only what the model asked for: nothing tells them apart.
    assert {text.replace(repr(name), "<path>") for name, text in refused.items()} == {
        "Failed to transcribe audio: no audio file <path> in the folder this toolkit reads audio from (check the path)"
    }
    assert str(tmp_path) not in "".join(text for name, text in refused.items() if str(tmp_path) not in name)
    assert len(emu.requests_for("transcriptions")) == 2  # only the two files inside went out


def test_the_audio_folder_is_the_working_directory_by_default(
    emu: DeepInfraEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_wav(tmp_path / "here.wav")
    with DeepInfraTools(api_key=emu.api_key, base_url=emu.root_url) as tools:
        assert tools.audio_dir == tmp_path.resolve()
        assert "seconds of audio" in str(tools.transcribe_audio("here.wav").content)
        assert "no audio file" in str(tools.transcribe_audio(str(Path(__file__).with_suffix(".wav"))).content)


# ------------------------------------------------------------------- images labelled by their bytes

SVG = b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- drawn -->\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'


@pytest.mark.parametrize(
    ("content", "fmt", "mime_type"),
    [
        (SVG, "svg", "image/svg+xml"),
        (b"<svg viewBox='0 0 1 1'/>", "svg", "image/svg+xml"),
        (b"GIF89a" + b"\x00" * 10, "gif", "image/gif"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 10, "jpeg", "image/jpeg"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp", "image/webp"),
        (b"\x00\x00\x00\x1cftypavif" + b"\x00" * 16, "avif", "image/avif"),  # an ISO BMFF box: size, then type
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, "png", "image/png"),
        (b"not an image at all", None, "application/octet-stream"),
    ],
)
def test_an_image_is_labelled_by_its_content(
    emu: DeepInfraEmulator, make_tools: MakeTools, content: bytes, fmt: str | None, mime_type: str
) -> None:
    encoded = base64.b64encode(content).decode()
    emu.queue(Fault.status(200, body={"data": [{"b64_json": encoded}]}), route="images")
    [image] = make_tools().generate_image("a fox").images or []
    assert (image.format, image.mime_type, image.content) == (fmt, mime_type, content)

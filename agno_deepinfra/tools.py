"""`DeepInfraTools`: an agno toolkit for DeepInfra's image, speech-recognition and text-to-speech models.

The three tools talk to DeepInfra's OpenAI-compatible media endpoints through the same plumbing as
the embedder and reranker (`_shared.http`, `_shared.retry`, `_shared.errors`, `_shared.config`): one
key, one base URL, one retry policy and one error mapping for every class of the package.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from os import PathLike, getenv
from pathlib import Path
from typing import Any

from agno.exceptions import AgnoError
from agno.tools import Toolkit
from agno.tools.function import ToolResult

from agno_deepinfra._shared.config import API_KEY_ENV, default_base_url, logger, openai_url
from agno_deepinfra._shared.http import Call, ClosesClients, HttpClients, auth_headers, deepcopy_sharing
from agno_deepinfra._shared.media import AUDIO_TYPES as AUDIO_TYPES  # public names of this module
from agno_deepinfra._shared.media import KOKORO_VOICES as KOKORO_VOICES
from agno_deepinfra._shared.media import (
    MAX_AUDIO_BYTES,
    MediaInputError,
    SpeechFormat,
    check_media_settings,
    checked_audio,
    checked_size,
    images_result,
    speech_result,
    transcript_result,
)
from agno_deepinfra._shared.media import MAX_IMAGES as MAX_IMAGES
from agno_deepinfra._shared.media import SPEECH_FORMATS as SPEECH_FORMATS
from agno_deepinfra._shared.retry import (
    RETRY_DEFAULTS,
    RetryPolicy,
    acall_with_retries,
    call_with_retries,
    check_retry_settings,
)

# Defaults looked up on DeepInfra's model pages (deepinfra.com/<model>/api): FLUX.1 [schnell] ($0.0005
# per 1024x1024 step, 1 to 4 steps), Whisper large-v3 turbo ($0.0002 a minute) and Kokoro 82M.
DEFAULT_IMAGE_MODEL = "black-forest-labs/FLUX-1-schnell"
DEFAULT_TRANSCRIPTION_MODEL = "openai/whisper-large-v3-turbo"
DEFAULT_SPEECH_MODEL = "hexgrad/Kokoro-82M"
DEFAULT_VOICE = "af_heart"
DEFAULT_IMAGE_SIZE = "1024x1024"
# The widths and heights FLUX-1-schnell accepts (its DeepInfra API page); other models may differ.
FLUX_SCHNELL_SIDES: tuple[int, ...] = (128, 256, 384, 448, 512, 576, 640, 704, 768, 832, 896, 960, 1024)
_OWNER = "DeepInfraTools"
# What `from_model` takes over from a `DeepInfra` model (read by name: this module never imports the chat wing).
_SHARED_SETTINGS = ("api_key", "base_url", "timeout", *RETRY_DEFAULTS)


@dataclass(frozen=True)
class _Job:
    """One tool call: what it does (for messages), how to build its request, how to read the answer."""

    action: str
    prepare: Callable[[], Call]
    finish: Callable[[Any, Call], ToolResult]


class DeepInfraTools(ClosesClients, Toolkit):
    """DeepInfra's image generation, speech recognition and text-to-speech as agno tools.

    A DeepInfra counterpart of agno's `OpenAITools`: the same three tool names, and media returned
    the same way, as agno artifacts in a `ToolResult`, so `RunOutput.images` and `RunOutput.audio`
    carry them. Failures (bad input, DeepInfra errors after the retries) come back to the model
    as a readable tool result starting with "Failed to ...", never as a crash of the run.

    Example:
        ```python
        from agno.agent import Agent
        from agno_deepinfra import DeepInfra, DeepInfraTools

        agent = Agent(model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"), tools=[DeepInfraTools()])
        run = agent.run("Draw a lighthouse at dawn")
        open("lighthouse.png", "wb").write(run.images[0].content)
        ```

    Args:
        api_key: DeepInfra API key; defaults to `DEEPINFRA_API_KEY`, read again at request time if
            unset. Never shown in `repr()`, logs or tool results.
        base_url: DeepInfra's URL, root or `/v1/openai` form; defaults to `DEEPINFRA_BASE_URL` when
            set, else DeepInfra's public endpoint (as for `DeepInfra`).
        enable_image_generation: offer `generate_image`.
        enable_transcription: offer `transcribe_audio`.
        enable_speech_generation: offer `generate_speech`.
        all: offer all three tools whatever the flags say.
        image_model: `"black-forest-labs/FLUX-1-schnell"` by default (FLUX-2, SDXL and other image
            models on DeepInfra work too).
        image_size: `"WIDTHxHEIGHT"` of generated images when the model does not ask for another
            (`"1024x1024"`).
        image_count: images per call, 1 to 4.
        image_sides: the widths and heights the image model accepts; sizes outside them are refused
            before any request. FLUX-1-schnell's by default; `None` skips the check (for other models).
        transcription_model: `"openai/whisper-large-v3-turbo"` by default.
        transcription_language: ISO-639-1 code of the audio's language (e.g. `"en"`); None detects it.
        max_audio_bytes: largest audio file sent for transcription (25 MB).
        audio_dir: the folder `transcribe_audio` may read from: relative paths are taken from
            it, and a path that leads outside it (`..`, `~`, an absolute path elsewhere, a symbolic
            link) is refused like a missing file, so a model cannot upload other files or probe
            the disk. The current working directory at construction when None.
        speech_model: `"hexgrad/Kokoro-82M"` by default.
        speech_voice: the voice, `"af_heart"` by default; `KOKORO_VOICES` lists Kokoro's English ones.
        speech_format: `"mp3"` (default), `"opus"`, `"flac"`, `"wav"` or `"pcm"` (16-bit mono).
        speech_speed: 0.25 to 4.0 (1.0 is normal speed).
        retries: retries of a transient failure (as `DeepInfra`'s: see `_shared.errors.error_class`).
        delay_between_retries: seconds before each retry.
        exponential_backoff: double the delay on each retry.
        max_retry_delay: upper bound, in seconds, on a wait the server asks for with `Retry-After`.
        retry_jitter: add up to this fraction of each wait at random (0 keeps waits exact).
        timeout: request timeout in seconds; `None` means 300 s reads and a 10 s connect timeout.
        client: an `httpx.Client` or `httpx2.Client` to use instead of the toolkit's own (the caller closes it).
        async_client: an `httpx.AsyncClient` or `httpx2.AsyncClient` to use instead of the toolkit's own,
            on one event loop.
        **kwargs: passed to agno's `Toolkit` (e.g. `include_tools`, `requires_confirmation_tools`).

    Raises:
        ValueError: a setting DeepInfra would refuse on every call (an unknown size or format, a
            speed out of range), at construction rather than at the first tool call.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        enable_image_generation: bool = True,
        enable_transcription: bool = True,
        enable_speech_generation: bool = True,
        all: bool = False,  # shadows the builtin: the name agno's OpenAITools uses
        image_model: str = DEFAULT_IMAGE_MODEL,
        image_size: str = DEFAULT_IMAGE_SIZE,
        image_count: int = 1,
        image_sides: Sequence[int] | None = FLUX_SCHNELL_SIDES,
        transcription_model: str = DEFAULT_TRANSCRIPTION_MODEL,
        transcription_language: str | None = None,
        max_audio_bytes: int = MAX_AUDIO_BYTES,
        audio_dir: str | PathLike[str] | None = None,
        speech_model: str = DEFAULT_SPEECH_MODEL,
        speech_voice: str = DEFAULT_VOICE,
        speech_format: SpeechFormat = "mp3",
        speech_speed: float = 1.0,
        retries: int = 0,
        delay_between_retries: float = 1.0,
        exponential_backoff: bool = False,
        max_retry_delay: float = 60.0,
        retry_jitter: float = 0.0,
        timeout: float | None = None,
        client: Any = None,
        async_client: Any = None,
        **kwargs: Any,
    ) -> None:
        self.api_key = api_key or getenv(API_KEY_ENV)
        self.base_url = openai_url(base_url or default_base_url())
        self.image_model, self.image_count = image_model, image_count
        self.image_sides = tuple(image_sides) if image_sides is not None else None
        self.image_size = checked_size(image_size, self.image_sides, image_model)
        self.transcription_model, self.transcription_language = transcription_model, transcription_language
        self.max_audio_bytes = max_audio_bytes
        self.audio_dir = Path(os.path.realpath(audio_dir if audio_dir is not None else os.getcwd()))
        self.speech_model, self.speech_voice = speech_model, speech_voice
        self.speech_format, self.speech_speed = speech_format, speech_speed
        self.retries, self.delay_between_retries = retries, delay_between_retries
        self.exponential_backoff = exponential_backoff
        self.max_retry_delay, self.retry_jitter = max_retry_delay, retry_jitter
        self.client, self.async_client = client, async_client
        self._clients = HttpClients()
        check_retry_settings(self)
        check_media_settings(self.image_count, self.speech_format, self.speech_speed, self.max_audio_bytes)

        chosen: list[tuple[bool, Callable[..., Any], Callable[..., Any]]] = [
            (all or enable_image_generation, self.generate_image, self.agenerate_image),
            (all or enable_transcription, self.transcribe_audio, self.atranscribe_audio),
            (all or enable_speech_generation, self.generate_speech, self.agenerate_speech),
        ]
        tools = [sync for wanted, sync, _ in chosen if wanted]
        async_tools = [(twin, sync.__name__) for wanted, sync, twin in chosen if wanted]
        super().__init__(name="deepinfra_tools", tools=tools, async_tools=async_tools, **kwargs)
        self.timeout = timeout  # after Toolkit's __init__, which sets its own `timeout`

    @classmethod
    def from_model(cls, model: Any, **kwargs: Any) -> DeepInfraTools:
        """A toolkit with a `DeepInfra` model's key, base URL, retry settings and timeout.

        Example: `Agent(model=model, tools=[DeepInfraTools.from_model(model, speech_format="wav")])`.
        `kwargs` (any argument of the constructor) win over the model's settings.
        """
        shared = {name: getattr(model, name, None) for name in _SHARED_SETTINGS}
        if not isinstance(shared["timeout"], (int, float)):
            shared["timeout"] = None  # an httpx.Timeout or agno's default: keep the toolkit's own
        shared["base_url"] = str(shared["base_url"]) if shared["base_url"] else None
        settings = {name: value for name, value in shared.items() if value is not None}
        return cls(**{**settings, **kwargs})

    # ------------------------------------------------------------------------------ the tools

    def generate_image(self, prompt: str, size: str | None = None) -> ToolResult:
        """Generate an image from a text description.

        Args:
            prompt: What the image shows, in detail.
            size: Optional WIDTHxHEIGHT in pixels, e.g. "1024x768"; leave empty for the default.
        """
        return self._run(self._image_job(prompt, size))

    async def agenerate_image(self, prompt: str, size: str | None = None) -> ToolResult:
        return await self._arun(self._image_job(prompt, size))

    def transcribe_audio(self, audio_path: str) -> ToolResult:
        """Transcribe the speech in an audio file (flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav or webm) to text.

        Args:
            audio_path: Path of the audio file.
        """
        return self._run(self._transcription_job(audio_path))

    async def atranscribe_audio(self, audio_path: str) -> ToolResult:
        return await self._arun(self._transcription_job(audio_path))

    def generate_speech(self, text_input: str) -> ToolResult:
        """Read a text aloud: synthesise speech audio from it.

        Args:
            text_input: The text to speak.
        """
        return self._run(self._speech_job(text_input))

    async def agenerate_speech(self, text_input: str) -> ToolResult:
        return await self._arun(self._speech_job(text_input))

    # agno describes a tool to the model from the docstring of the variant it runs.
    agenerate_image.__doc__ = generate_image.__doc__
    atranscribe_audio.__doc__ = transcribe_audio.__doc__
    agenerate_speech.__doc__ = generate_speech.__doc__

    # ---------------------------------------------------------------- one call, two paths

    def _run(self, job: _Job) -> ToolResult:
        """Validate, send (with retries), read the answer; any failure becomes a readable tool result."""
        try:
            call = job.prepare()
            client = self._clients.sync(self.client, self.timeout, call.url)
            return job.finish(call_with_retries(lambda: call.send(client), RetryPolicy.of(self)), call)
        except (MediaInputError, AgnoError) as error:
            return _failed(job.action, error)

    async def _arun(self, job: _Job) -> ToolResult:
        """Async twin of `_run`: the same steps, the request awaited on the running loop."""
        try:
            call = job.prepare()
            client = self._clients.async_(self.async_client, self.timeout, call.url)

            async def attempt() -> Any:
                return await call.asend(client)

            return job.finish(await acall_with_retries(attempt, RetryPolicy.of(self)), call)
        except (MediaInputError, AgnoError) as error:
            return _failed(job.action, error)

    def _call(self, path: str, model: str, what: str, payload: dict[str, Any], **options: Any) -> Call:
        return Call(
            url=self.base_url + path,
            payload={"model": model, **payload},
            headers=auth_headers(self.api_key, _OWNER),
            model_id=model,
            owner=_OWNER,
            what=what,
            **options,
        )

    # ------------------------------------------------------------------------------- images

    def _image_job(self, prompt: str, size: str | None) -> _Job:
        return _Job("generate image", partial(self._image_call, prompt, size), images_result)

    def _image_call(self, prompt: str, size: str | None) -> Call:
        if not prompt or not prompt.strip():
            raise MediaInputError("the prompt is empty (describe the image to draw)")
        payload = {
            "prompt": prompt,
            "n": self.image_count,
            "size": checked_size(size or self.image_size, self.image_sides, self.image_model),
        }
        return self._call(
            "/images/generations", self.image_model, "image model", {**payload, "response_format": "b64_json"}
        )

    # ------------------------------------------------------------------------ transcription

    def _transcription_job(self, audio_path: str) -> _Job:
        return _Job("transcribe audio", partial(self._transcription_call, audio_path), transcript_result)

    def _transcription_call(self, audio_path: str) -> Call:
        path, content_type = checked_audio(audio_path, self.audio_dir, self.max_audio_bytes)
        fields: dict[str, Any] = {"response_format": "json"}
        if self.transcription_language:
            fields["language"] = self.transcription_language
        with path.open("rb") as file:  # never more than the limit, even from a file that grows meanwhile
            content = file.read(self.max_audio_bytes + 1)
        if len(content) > self.max_audio_bytes:
            raise MediaInputError(f"{path.name} is over the {self.max_audio_bytes:,}-byte limit")
        files = {"file": (path.name, content, content_type)}
        return self._call(
            "/audio/transcriptions", self.transcription_model, "speech recognition model", fields, files=files
        )

    # ------------------------------------------------------------------------------ speech

    def _speech_job(self, text_input: str) -> _Job:
        return _Job("generate speech", partial(self._speech_call, text_input), speech_result)

    def _speech_call(self, text_input: str) -> Call:
        if not text_input or not text_input.strip():
            raise MediaInputError("the text to speak is empty")
        payload = {
            "input": text_input,
            "voice": self.speech_voice,
            "response_format": self.speech_format,
            "speed": self.speech_speed,
        }
        return self._call("/audio/speech", self.speech_model, "text-to-speech model", payload, binary=True)

    # ------------------------------------------------------------------------------ copying

    def __deepcopy__(self, memo: dict[int, Any]) -> DeepInfraTools:
        # agno may copy an agent's tools; a caller's clients are shared, the toolkit's own are not copied.
        return deepcopy_sharing(self, memo, self.client, self.async_client)


def _failed(action: str, error: Exception) -> ToolResult:
    """The tool result the model reads when a call fails: what failed and why, DeepInfra's words included."""
    message = error.message if isinstance(error, AgnoError) else str(error)
    logger.warning("DeepInfraTools could not %s: %s", action, message)
    return ToolResult(content=f"Failed to {action}: {message}")

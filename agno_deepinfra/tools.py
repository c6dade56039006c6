"""`DeepInfraTools`: an agno toolkit for DeepInfra's image, speech-recognition and text-to-speech models.

The three tools talk to DeepInfra's OpenAI-compatible media endpoints through the same plumbing as
the embedder and reranker (`_shared.http`, `_shared.retry`, `_shared.errors`, `_shared.config`): one
key, one base URL, one retry policy and one error mapping for every class of the package.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from os import PathLike, getenv
from pathlib import Path
from typing import Any, Literal, get_args
from uuid import uuid4

from agno.exceptions import AgnoError
from agno.media import Audio, Image
from agno.tools import Toolkit
from agno.tools.function import ToolResult

from agno_deepinfra._shared.config import API_KEY_ENV, default_base_url, logger, openai_url
from agno_deepinfra._shared.http import Call, ClosesClients, HttpClients, auth_headers, deepcopy_sharing
from agno_deepinfra._shared.retry import RetryPolicy, acall_with_retries, call_with_retries, check_retry_settings

# Defaults looked up on DeepInfra's model pages (deepinfra.com/<model>/api): FLUX.1 [schnell] ($0.0005
# per 1024x1024 step, 1 to 4 steps), Whisper large-v3 turbo ($0.0002 a minute) and Kokoro 82M.
DEFAULT_IMAGE_MODEL = "black-forest-labs/FLUX-1-schnell"
DEFAULT_TRANSCRIPTION_MODEL = "openai/whisper-large-v3-turbo"
DEFAULT_SPEECH_MODEL = "hexgrad/Kokoro-82M"
DEFAULT_VOICE = "af_heart"
DEFAULT_IMAGE_SIZE = "1024x1024"
# The widths and heights FLUX-1-schnell accepts (its DeepInfra API page); other models may differ.
FLUX_SCHNELL_SIDES: tuple[int, ...] = (128, 256, 384, 448, 512, 576, 640, 704, 768, 832, 896, 960, 1024)
# Kokoro 82M's English voices (its VOICES.md; a = American, b = British; f = female, m = male). Kokoro has more
# voices in other languages, and DeepInfra also serves cloned voices by id, so voices are not checked.
KOKORO_VOICES: tuple[str, ...] = (
    "af_heart", "af_alloy", "af_aoede", "af_bella", "af_jessica", "af_kore", "af_nicole", "af_nova", "af_river",
    "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx",
    "am_puck", "am_santa", "bf_alice", "bf_emma", "bf_isabella", "bf_lily", "bm_daniel", "bm_fable", "bm_george",
    "bm_lewis",
)  # fmt: skip
SpeechFormat = Literal["mp3", "opus", "flac", "wav", "pcm"]
SPEECH_FORMATS: tuple[str, ...] = get_args(SpeechFormat)
# What `/v1/openai/audio/transcriptions` takes (DeepInfra's Whisper API pages), by file extension.
AUDIO_TYPES = {
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "mp4": "audio/mp4",
    "mpeg": "audio/mpeg",
    "mpga": "audio/mpeg",
    "m4a": "audio/mp4",
    "ogg": "audio/ogg",
    "wav": "audio/wav",
    "webm": "audio/webm",
}
_SPEECH_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm"}
# OpenAI's upload limit for the same API; DeepInfra documents none, so the familiar bound is the default.
MAX_AUDIO_BYTES = 25 * 1024 * 1024
MAX_IMAGES = 4  # `n` on DeepInfra's images endpoint: 1 to 4
_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")
_OWNER = "DeepInfraTools"
# What `from_model` takes over from a `DeepInfra` model (read by name: this module never imports the chat wing).
_SHARED_SETTINGS = (
    "api_key",
    "base_url",
    "retries",
    "delay_between_retries",
    "exponential_backoff",
    "max_retry_delay",
    "retry_jitter",
    "timeout",
)


class MediaInputError(ValueError):
    """A tool argument or setting that DeepInfra would refuse; found before any request is sent."""


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
        self.image_size = self._checked_size(image_size)
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
        _check_settings(self)

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
        return _Job("generate image", partial(self._image_call, prompt, size), self._image_result)

    def _image_call(self, prompt: str, size: str | None) -> Call:
        if not prompt or not prompt.strip():
            raise MediaInputError("the prompt is empty (describe the image to draw)")
        payload = {"prompt": prompt, "n": self.image_count, "size": self._checked_size(size or self.image_size)}
        return self._call(
            "/images/generations", self.image_model, "image model", {**payload, "response_format": "b64_json"}
        )

    def _image_result(self, body: Any, call: Call) -> ToolResult:
        items = body.get("data") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise call.bad_response("no 'data' list of images in the response")
        images = [_image(item, call) for item in items]
        size = call.payload["size"]
        return ToolResult(content=f"Generated {len(images)} image(s) of {size} with {call.model_id}.", images=images)

    def _checked_size(self, size: str) -> str:
        match = _SIZE.match(str(size).strip().lower())
        if match is None:
            raise MediaInputError(f"unknown image size {size!r}: give WIDTHxHEIGHT in pixels, e.g. '1024x1024'")
        sides = self.image_sides
        if sides is not None and not {int(match[1]), int(match[2])} <= set(sides):
            allowed = ", ".join(map(str, sides))
            raise MediaInputError(
                f"unknown image size {size!r} for {self.image_model}: width and height must each be one of {allowed}"
            )
        return f"{int(match[1])}x{int(match[2])}"

    # ------------------------------------------------------------------------ transcription

    def _transcription_job(self, audio_path: str) -> _Job:
        return _Job("transcribe audio", partial(self._transcription_call, audio_path), _transcript_result)

    def _transcription_call(self, audio_path: str) -> Call:
        path, content_type = self._checked_audio(audio_path)
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

    def _checked_audio(self, audio_path: str) -> tuple[Path, str]:
        """The audio file's real path and type; only a regular file inside `audio_dir` passes.

        Missing, outside `audio_dir` and not a regular file get one message, which names no
        directory: the model learns nothing of the disk beyond the folder it may read.
        """
        named = Path(str(audio_path))
        extension = named.suffix.lower().lstrip(".")
        if extension not in AUDIO_TYPES:
            suffix, supported = named.suffix or "(no extension)", ", ".join(AUDIO_TYPES)
            raise MediaInputError(f"unsupported audio format {suffix!r} for {named.name}: use one of {supported}")
        path = Path(os.path.realpath(self.audio_dir / named))  # `~` stays a name; links and `..` resolved
        if not path.is_relative_to(self.audio_dir) or not path.is_file():
            raise MediaInputError(
                f"no audio file {str(audio_path)!r} in the folder this toolkit reads audio from (check the path)"
            )
        size = path.stat().st_size
        if size == 0:
            raise MediaInputError(f"{path.name} is empty")
        if size > self.max_audio_bytes:
            raise MediaInputError(
                f"{path.name} is {size:,} bytes, over the {self.max_audio_bytes:,}-byte limit "
                "(split or compress the audio, or raise max_audio_bytes)"
            )
        return path, AUDIO_TYPES[extension]

    # ------------------------------------------------------------------------------ speech

    def _speech_job(self, text_input: str) -> _Job:
        return _Job("generate speech", partial(self._speech_call, text_input), self._speech_result)

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

    def _speech_result(self, body: Any, call: Call) -> ToolResult:
        if not isinstance(body, bytes) or not body:
            raise call.bad_response("the audio response is empty")
        fmt = call.payload["response_format"]
        audio = Audio(
            id=str(uuid4()), content=body, mime_type=_SPEECH_TYPES[fmt], format=fmt, transcript=call.payload["input"]
        )
        return ToolResult(
            content=f"Speech generated ({len(body):,} bytes of {fmt}) with ID: {audio.id}", audios=[audio]
        )

    # ------------------------------------------------------------------------------ copying

    def __deepcopy__(self, memo: dict[int, Any]) -> DeepInfraTools:
        # agno may copy an agent's tools; a caller's clients are shared, the toolkit's own are not copied.
        return deepcopy_sharing(self, memo, self.client, self.async_client)


def _check_settings(tools: DeepInfraTools) -> None:
    """Refuse, at construction, settings that would make every call fail."""
    check_retry_settings(tools)
    if not 1 <= tools.image_count <= MAX_IMAGES:
        raise MediaInputError(f"image_count must be 1 to {MAX_IMAGES}, not {tools.image_count}")
    if tools.speech_format not in SPEECH_FORMATS:
        raise MediaInputError(f"speech_format must be one of {', '.join(SPEECH_FORMATS)}, not {tools.speech_format!r}")
    if not 0.25 <= tools.speech_speed <= 4.0:
        raise MediaInputError(f"speech_speed must be 0.25 to 4.0, not {tools.speech_speed}")
    if tools.max_audio_bytes < 1:
        raise MediaInputError("max_audio_bytes must be positive")


def _failed(action: str, error: Exception) -> ToolResult:
    """The tool result the model reads when a call fails: what failed and why, DeepInfra's words included."""
    message = error.message if isinstance(error, AgnoError) else str(error)
    logger.warning("DeepInfraTools could not %s: %s", action, message)
    return ToolResult(content=f"Failed to {action}: {message}")


def _image(item: Any, call: Call) -> Image:
    """An agno image from one `data[]` entry; DeepInfra sends `b64_json` only."""
    encoded = item.get("b64_json") if isinstance(item, dict) else None
    if not isinstance(encoded, str):
        raise call.bad_response("an image entry has no 'b64_json'")
    try:
        content = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise call.bad_response(f"an image is not valid base64 ({exc})") from exc
    fmt, mime_type = _image_type(content)
    revised = item.get("revised_prompt")
    return Image(
        id=str(uuid4()),
        content=content,
        format=fmt,
        mime_type=mime_type,
        original_prompt=call.payload["prompt"],
        revised_prompt=revised if isinstance(revised, str) else None,
    )


def _image_type(content: bytes) -> tuple[str | None, str]:
    """Format and MIME type from the image's own bytes, never assumed (DeepInfra's example answers with a JPEG).

    An SVG (text) is labelled `image/svg+xml`, so nothing renders it as a PNG; bytes of no known
    image format are `application/octet-stream`, with no format.
    """
    for magic, fmt, mime_type in _IMAGE_MAGIC:
        if content.startswith(magic):
            return fmt, mime_type
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "webp", "image/webp"
    if content[4:12] in (b"ftypavif", b"ftypavis"):
        return "avif", "image/avif"
    if _SVG.match(content[:1024]):
        return "svg", "image/svg+xml"
    return None, "application/octet-stream"


_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"\xff\xd8\xff", "jpeg", "image/jpeg"),
    (b"GIF87a", "gif", "image/gif"),
    (b"GIF89a", "gif", "image/gif"),
)
# An SVG document: optional BOM, XML declaration, comments and doctype, then the `<svg` element.
_SVG = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]", re.S | re.I
)


def _transcript_result(body: Any, call: Call) -> ToolResult:
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        raise call.bad_response("no 'text' in the transcription")
    return ToolResult(content=text.strip() or "(the audio contains no recognisable speech)")

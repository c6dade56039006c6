"""DeepInfra's media formats: what the media tools check before a request, and how they read the answers.

The checks run before anything is sent (a bad size, format or file is the model's to fix, in a
tool result), and answers are read from their own bytes, never assumed: an SVG is `image/svg+xml`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args
from uuid import uuid4

from agno.media import Audio, Image
from agno.tools.function import ToolResult

from agno_deepinfra._shared.http import Call

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
SPEECH_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm"}
# OpenAI's upload limit for the same API; DeepInfra documents none, so the familiar bound is the default.
MAX_AUDIO_BYTES = 25 * 1024 * 1024
MAX_IMAGES = 4  # `n` on DeepInfra's images endpoint: 1 to 4
SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")


class MediaInputError(ValueError):
    """A tool argument or setting that DeepInfra would refuse; found before any request is sent."""


def check_media_settings(image_count: int, speech_format: str, speech_speed: float, max_audio_bytes: int) -> None:
    """Refuse, at construction, media settings that would make every call fail."""
    if not 1 <= image_count <= MAX_IMAGES:
        raise MediaInputError(f"image_count must be 1 to {MAX_IMAGES}, not {image_count}")
    if speech_format not in SPEECH_FORMATS:
        raise MediaInputError(f"speech_format must be one of {', '.join(SPEECH_FORMATS)}, not {speech_format!r}")
    if not 0.25 <= speech_speed <= 4.0:
        raise MediaInputError(f"speech_speed must be 0.25 to 4.0, not {speech_speed}")
    if max_audio_bytes < 1:
        raise MediaInputError("max_audio_bytes must be positive")


def checked_size(size: str, sides: Sequence[int] | None, model: str) -> str:
    """`WIDTHxHEIGHT` normalised; each side one of `sides` when the model has a fixed list."""
    match = SIZE.match(str(size).strip().lower())
    if match is None:
        raise MediaInputError(f"unknown image size {size!r}: give WIDTHxHEIGHT in pixels, e.g. '1024x1024'")
    if sides is not None and not {int(match[1]), int(match[2])} <= set(sides):
        allowed = ", ".join(map(str, sides))
        raise MediaInputError(
            f"unknown image size {size!r} for {model}: width and height must each be one of {allowed}"
        )
    return f"{int(match[1])}x{int(match[2])}"


def checked_audio(audio_path: str, audio_dir: Path, max_bytes: int) -> tuple[Path, str]:
    """The audio file's real path and type; only a regular file inside `audio_dir` passes.

    Missing, outside `audio_dir` and not a regular file get one message, which names no
    directory: the model learns nothing of the disk beyond the folder it may read.
    """
    named = Path(str(audio_path))
    extension = named.suffix.lower().lstrip(".")
    if extension not in AUDIO_TYPES:
        suffix, supported = named.suffix or "(no extension)", ", ".join(AUDIO_TYPES)
        raise MediaInputError(f"unsupported audio format {suffix!r} for {named.name}: use one of {supported}")
    path = Path(os.path.realpath(audio_dir / named))  # `~` stays a name; links and `..` resolved
    if not path.is_relative_to(audio_dir) or not path.is_file():
        raise MediaInputError(
            f"no audio file {str(audio_path)!r} in the folder this toolkit reads audio from (check the path)"
        )
    size = path.stat().st_size
    if size == 0:
        raise MediaInputError(f"{path.name} is empty")
    if size > max_bytes:
        raise MediaInputError(
            f"{path.name} is {size:,} bytes, over the {max_bytes:,}-byte limit "
            "(split or compress the audio, or raise max_audio_bytes)"
        )
    return path, AUDIO_TYPES[extension]


def image_of(item: Any, call: Call) -> Image:
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


def transcript_result(body: Any, call: Call) -> ToolResult:
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        raise call.bad_response("no 'text' in the transcription")
    return ToolResult(content=text.strip() or "(the audio contains no recognisable speech)")


def images_result(body: Any, call: Call) -> ToolResult:
    """The tool result of an images answer: every image as an agno artifact."""
    items = body.get("data") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items:
        raise call.bad_response("no 'data' list of images in the response")
    images = [image_of(item, call) for item in items]
    size = call.payload["size"]
    return ToolResult(content=f"Generated {len(images)} image(s) of {size} with {call.model_id}.", images=images)


def speech_result(body: Any, call: Call) -> ToolResult:
    """The tool result of a speech answer: the audio as an agno artifact."""
    if not isinstance(body, bytes) or not body:
        raise call.bad_response("the audio response is empty")
    fmt = call.payload["response_format"]
    audio = Audio(
        id=str(uuid4()), content=body, mime_type=SPEECH_TYPES[fmt], format=fmt, transcript=call.payload["input"]
    )
    return ToolResult(content=f"Speech generated ({len(body):,} bytes of {fmt}) with ID: {audio.id}", audios=[audio])

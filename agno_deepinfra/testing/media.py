"""The media endpoints: image generation, speech recognition (multipart upload) and text-to-speech.

Wire shapes, and where they come from:

- `POST /v1/openai/images/generations` (DeepInfra's "OpenAI-compatible HTTP API" section on each
  image model's page, e.g. deepinfra.com/black-forest-labs/FLUX-1-schnell/api): JSON `{prompt,
  model, n (1-4), size ("1024x1024" by default; available sizes depend on the model),
  response_format ("b64_json" only), user, style}`; answer `{"created": ..., "data":
  [{"revised_prompt": ..., "b64_json": ...}]}` (openai-python's `ImagesResponse` / `Image`).
- `POST /v1/openai/audio/transcriptions` (docs.deepinfra.com/api-reference/openai-audio-transcriptions
  and the "OpenAI Speech-to-Text" section of deepinfra.com/openai/whisper-large-v3/api):
  multipart/form-data with `file` and `model` required, optional `language`, `prompt`,
  `response_format` (json (default), verbose_json, text, srt, vtt), `temperature`,
  `timestamp_granularities`; accepted files flac, mp3, mp4, mpeg, mpga, m4a, ogg, wav, webm;
  answer `{"text": ...}` (openai-python's `Transcription`), or plain text for `text`.
- `POST /v1/openai/audio/speech` (docs.deepinfra.com/api-reference/openai-audio-speech-1): JSON
  `{model, input, voice, response_format (mp3, opus, flac, wav (default), pcm), speed (0.25-4),
  service_tier}`; the answer is the audio itself.

The answers are checked against openai-python's types by parsing them with the real SDK in
`tests/test_emulator_media.py`: `types/images_response.py` (`created`, `data: list[Image]`),
`types/image.py` (`b64_json`, `revised_prompt`, `url`), `types/audio/transcription.py` (`text`,
the only required field) and the binary response of `audio.speech.create`.

Validation failures answer FastAPI's 422 `{"detail": [...]}`, unknown models 404 `{"detail":
{"error": "Model is not available"}}`, as on every other DeepInfra route.
"""

from __future__ import annotations

import base64
import time
import wave
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from functools import partial
from hashlib import blake2b
from io import BytesIO
from typing import Any

from agno_deepinfra.testing.catalog import Catalog, ModelEntry
from agno_deepinfra.testing.errors import detail_error, field_error, validation_error
from agno_deepinfra.testing.media_files import SPEECH_TYPES, png, speech, tagged_text
from agno_deepinfra.testing.outcome import Action, ApiError, Respond, json_response, modify_plain
from agno_deepinfra.testing.script import Fault, Reply
from agno_deepinfra.testing.validation import check_range, missing, require_dict, require_model

AUDIO_EXTENSIONS = ("flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm")
TRANSCRIPT_FORMATS = ("json", "verbose_json", "text", "srt", "vtt")
MAX_SIDE = 2048  # the emulator's bound on either side of an image, so a bad size cannot eat memory


# ------------------------------------------------------------------------------- multipart


def is_form(headers: dict[str, str]) -> bool:
    """Whether the request body is multipart/form-data."""
    return headers.get("content-type", "").lower().startswith("multipart/form-data")


def parse_form(headers: dict[str, str], body: bytes) -> tuple[Any, str | None]:
    """(fields, None) or (None, problem) for a multipart body.

    Text fields come back as strings; a file field as `{"filename", "content_type", "size",
    "content"}`. The request log keeps the file's size and name, not its bytes.
    """
    head = f"Content-Type: {headers.get('content-type', '')}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return None, "Invalid multipart body"
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = _form_value(part)
    return fields, None


def _form_value(part: Message) -> Any:
    content = part.get_payload(decode=True)
    content = content if isinstance(content, bytes) else b""
    filename = part.get_filename()
    if filename is None:
        return content.decode(errors="replace")
    return {"filename": filename, "content_type": part.get_content_type(), "size": len(content), "content": content}


def loggable(fields: Any) -> Any:
    """The form as the request log keeps it: file parts without their bytes."""
    if not isinstance(fields, dict):
        return fields
    return {k: {**v, "content": None} if isinstance(v, dict) and "content" in v else v for k, v in fields.items()}


# ---------------------------------------------------------------------------------- images


def prepare_images(raw: Any, catalog: Catalog) -> partial[Action]:
    """Validate an image generation request and return its renderer."""
    body = require_dict(raw)
    errors = []
    for name in ("prompt", "model"):
        if not isinstance(body.get(name), str):
            errors.append(missing(name, body))
    count = body.get("n", 1)
    if count is not None and (error := check_range("n", count, (1, True), (4, True))):
        errors.append(error)
    if body.get("response_format") not in (None, "b64_json"):
        msg = "Input should be 'b64_json'"
        errors.append(field_error(("response_format",), msg, "literal_error", body["response_format"]))
    width, height = _size(body.get("size"), errors)
    if errors:
        raise ApiError(422, validation_error(errors))
    require_model(catalog, body["model"], "image", "image generation")
    return partial(_render_images, body["prompt"], width, height, int(count or 1))


def _size(value: Any, errors: list[dict[str, Any]]) -> tuple[int, int]:
    size = "1024x1024" if value is None else value
    width, _, height = str(size).partition("x")
    if width.isdigit() and height.isdigit() and 64 <= int(width) <= MAX_SIDE and 64 <= int(height) <= MAX_SIDE:
        return int(width), int(height)
    errors.append(field_error(("size",), f"Unsupported size {size!r}: use WIDTHxHEIGHT", "value_error", size))
    return 0, 0


def _render_images(prompt: str, width: int, height: int, count: int, reply: Reply | None, mod: Fault | None) -> Action:
    encoded = base64.b64encode(png(width, height, prompt)).decode()
    item = {"revised_prompt": prompt, "b64_json": encoded}
    return _with_reply(json_response(200, {"created": int(time.time()), "data": [item] * count}), reply, mod)


# --------------------------------------------------------------------------- transcription


def prepare_transcription(raw: Any, catalog: Catalog) -> partial[Action]:
    """Validate a multipart transcription request and return its renderer."""
    body = require_dict(raw)
    errors = []
    upload = body.get("file")
    if not isinstance(upload, dict):
        errors.append(missing("file", None))
    if not isinstance(body.get("model"), str):
        errors.append(missing("model", None))
    fmt = body.get("response_format") or "json"
    if fmt not in TRANSCRIPT_FORMATS:
        msg = "Input should be 'json', 'verbose_json', 'text', 'srt' or 'vtt'"
        errors.append(field_error(("response_format",), msg, "enum", fmt))
    if errors:
        raise ApiError(422, validation_error(errors))
    entry = require_model(catalog, body["model"], "speech-recognition", "audio transcriptions")
    assert isinstance(upload, dict)  # checked above
    extension = str(upload["filename"]).rpartition(".")[2].lower()
    if extension not in AUDIO_EXTENSIONS:
        supported = ", ".join(AUDIO_EXTENSIONS)
        raise ApiError(400, detail_error(f"Unsupported audio format '.{extension}': supported are {supported}"))
    if not upload["content"]:
        raise ApiError(400, detail_error("The audio file is empty"))
    return partial(_render_transcript, entry, transcript(upload["filename"], upload["content"]), fmt)


def transcript(filename: str, audio: bytes) -> str:
    """The emulator's deterministic transcript: the text of its own speech, else a description of the audio."""
    spoken = tagged_text(audio)
    if spoken is not None:
        return spoken
    seconds = _wav_seconds(audio)
    length = f"{seconds:.1f} seconds of audio" if seconds is not None else f"{len(audio):,} bytes of audio"
    fingerprint = blake2b(audio, digest_size=4).hexdigest()
    return f"Emulated transcript of {filename}: {length} with no recognisable speech (fingerprint {fingerprint})."


def _wav_seconds(audio: bytes) -> float | None:
    try:
        with wave.open(BytesIO(audio)) as reader:
            return reader.getnframes() / reader.getframerate()
    except (wave.Error, EOFError, ZeroDivisionError):
        return None


def _render_transcript(entry: ModelEntry, text: str, fmt: str, reply: Reply | None, mod: Fault | None) -> Action:
    if reply is not None and reply.content is not None:
        text = reply.content
    if fmt == "text":
        return modify_plain(Respond(200, text.encode(), b"text/plain; charset=utf-8"), mod)
    body: dict[str, Any] = {"text": text}
    if fmt == "verbose_json":
        body.update(task="transcribe", language="english", duration=0.0, segments=[])
    return _with_reply(json_response(200, body), reply, mod)


# ---------------------------------------------------------------------------------- speech


def prepare_speech(raw: Any, catalog: Catalog) -> partial[Action]:
    """Validate a text-to-speech request and return its renderer."""
    body = require_dict(raw)
    errors = []
    for name in ("model", "input"):
        if not isinstance(body.get(name), str):
            errors.append(missing(name, body))
    fmt = body.get("response_format") or "wav"
    if fmt not in SPEECH_TYPES:
        msg = "Input should be 'mp3', 'opus', 'flac', 'wav' or 'pcm'"
        errors.append(field_error(("response_format",), msg, "enum", fmt))
    speed = body.get("speed")
    if speed is not None and (error := check_range("speed", speed, (0.25, True), (4, True))):
        errors.append(error)
    if errors:
        raise ApiError(422, validation_error(errors))
    require_model(catalog, body["model"], "text-to-speech", "speech generation")
    return partial(_render_speech, body["input"], fmt)


def _render_speech(text: str, fmt: str, reply: Reply | None, mod: Fault | None) -> Action:
    if reply is not None and reply.content is not None:
        text = reply.content
    return _with_reply(Respond(200, speech(text, fmt), SPEECH_TYPES[fmt].encode()), reply, mod)


def _with_reply(default: Respond, reply: Reply | None, modifier: Fault | None) -> Action:
    """A scripted `Reply(body=...)` replaces the default body (as JSON); stream-shaped faults still apply."""
    response = json_response(200, reply.body) if reply is not None and reply.body is not None else default
    return modify_plain(response, modifier)


PREPARERS = {"images": prepare_images, "transcriptions": prepare_transcription, "speech": prepare_speech}
ROUTES = {
    "/v1/openai/images/generations": ("images", "POST"),
    "/v1/openai/audio/transcriptions": ("transcriptions", "POST"),
    "/v1/openai/audio/speech": ("speech", "POST"),
}

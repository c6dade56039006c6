"""The emulator's media routes: the openai SDK reads them, DeepInfra's error shapes, valid files in every format."""

from __future__ import annotations

import base64
import struct
import wave
import zlib
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from agno_deepinfra.testing import DeepInfraEmulator, Fault
from agno_deepinfra.testing.media_files import SAMPLE_RATE, speech, tagged_text

FLUX = "black-forest-labs/FLUX-1-schnell"
WHISPER = "openai/whisper-large-v3-turbo"
KOKORO = "hexgrad/Kokoro-82M"


@pytest.fixture
def sdk(emu: DeepInfraEmulator) -> Any:
    with openai.OpenAI(base_url=emu.base_url, api_key=emu.api_key, max_retries=0) as client:
        yield client


def post(emu: DeepInfraEmulator, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    return httpx.post(emu.base_url + path, headers=headers, timeout=30, **kwargs)


# ------------------------------------------------------------------- the openai SDK reads them


def test_sdk_generates_an_image(sdk: Any, emu: DeepInfraEmulator) -> None:
    response = sdk.images.generate(model=FLUX, prompt="a fox", size="512x512", response_format="b64_json", n=2)
    assert len(response.data) == 2
    picture = base64.b64decode(response.data[0].b64_json)
    assert picture.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", picture[16:24]) == (512, 512)
    assert response.data[0].revised_prompt == "a fox"


def test_sdk_transcribes_an_upload(sdk: Any, emu: DeepInfraEmulator, tmp_path: Path) -> None:
    spoken = speech("Call me back tomorrow", "mp3")
    with (tmp_path / "call.mp3").open("wb") as file:
        file.write(spoken)
    with (tmp_path / "call.mp3").open("rb") as file:
        result = sdk.audio.transcriptions.create(model=WHISPER, file=file)
    assert result.text == "Call me back tomorrow"
    with (tmp_path / "call.mp3").open("rb") as file:
        plain = sdk.audio.transcriptions.create(model=WHISPER, file=file, response_format="text")
    assert str(plain).strip() == "Call me back tomorrow"
    logged = emu.requests_for("transcriptions")[0].body
    assert logged["file"] == {
        "filename": "call.mp3",
        "content_type": "audio/mpeg",
        "size": len(spoken),
        "content": None,
    }


def test_sdk_synthesises_speech(sdk: Any) -> None:
    audio = sdk.audio.speech.create(model=KOKORO, voice="af_bella", input="Good morning", response_format="wav")
    assert audio.response.headers["content-type"] == "audio/wav"
    with wave.open(BytesIO(audio.content)) as reader:
        assert reader.getframerate() == SAMPLE_RATE


# ----------------------------------------------------------------------- DeepInfra's errors


@pytest.mark.parametrize(
    ("path", "kwargs", "status", "detail"),
    [
        ("/images/generations", {"json": {"model": FLUX}}, 422, ["prompt"]),
        ("/images/generations", {"json": {"model": FLUX, "prompt": "x", "n": 9}}, 422, ["n"]),
        ("/images/generations", {"json": {"model": FLUX, "prompt": "x", "response_format": "url"}}, 422, None),
        ("/images/generations", {"json": {"model": FLUX, "prompt": "x", "size": "big"}}, 422, ["size"]),
        ("/images/generations", {"json": {"model": "no/such", "prompt": "x"}}, 404, None),
        ("/images/generations", {"json": {"model": KOKORO, "prompt": "x"}}, 400, None),
        ("/audio/transcriptions", {"data": {"model": WHISPER}, "files": {"x": ("a.wav", b"1")}}, 422, ["file"]),
        ("/audio/transcriptions", {"data": {"model": WHISPER}, "files": {"file": ("a.txt", b"1")}}, 400, None),
        ("/audio/transcriptions", {"data": {"model": WHISPER}, "files": {"file": ("a.wav", b"")}}, 400, None),
        ("/audio/speech", {"json": {"model": KOKORO, "input": "x", "response_format": "aac"}}, 422, None),
        ("/audio/speech", {"json": {"model": KOKORO, "input": "x", "speed": 5}}, 422, ["speed"]),
        ("/audio/speech", {"json": {"model": KOKORO}}, 422, ["input"]),
    ],
)
def test_bad_requests_get_deepinfras_error_shapes(
    emu: DeepInfraEmulator, path: str, kwargs: dict[str, Any], status: int, detail: list[str] | None
) -> None:
    response = post(emu, path, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    if status == 422 and detail is not None:
        assert [item["loc"][1:] for item in body["detail"]] == [detail]
    elif status != 422:
        assert isinstance(body["detail"]["error"], str) and body["detail"]["error"]


def test_media_routes_need_the_key(emu: DeepInfraEmulator) -> None:
    response = httpx.post(emu.base_url + "/audio/speech", json={"model": KOKORO, "input": "x"})
    assert response.status_code == 401


def test_media_routes_are_logged_and_scriptable(emu: DeepInfraEmulator) -> None:
    emu.queue(Fault.status(429, headers={"Retry-After": "2"}), route="speech")
    first = post(emu, "/audio/speech", json={"model": KOKORO, "input": "x"})
    second = post(emu, "/audio/speech", json={"model": KOKORO, "input": "x"})
    assert (first.status_code, first.headers["retry-after"], second.status_code) == (429, "2", 200)
    assert [request.route for request in emu.requests] == ["speech", "speech"]


# -------------------------------------------------------------------------- valid files


def test_wav_and_pcm_are_16_bit_mono_at_24_khz() -> None:
    with wave.open(BytesIO(speech("hello there", "wav"))) as reader:
        assert (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) == (1, 2, SAMPLE_RATE)
        frames = reader.getnframes()
    assert len(speech("hello there", "pcm")) == 2 * frames


def test_mp3_is_an_id3_tag_then_mpeg_frames() -> None:
    mp3 = speech("hello there", "mp3")
    assert mp3.startswith(b"ID3\x03")
    size = sum(byte << shift for byte, shift in zip(mp3[6:10], (21, 14, 7, 0), strict=True))
    frames = mp3[10 + size :]
    assert frames and len(frames) % 417 == 0
    assert all(frames[offset : offset + 4] == b"\xff\xfb\x90\xc0" for offset in range(0, len(frames), 417))


def test_flac_frames_carry_valid_crcs() -> None:
    flac = speech("hello there", "flac")
    assert flac.startswith(b"fLaC")
    offset, last = 4, False
    while not last:
        last, length = bool(flac[offset] & 0x80), int.from_bytes(flac[offset + 1 : offset + 4], "big")
        if flac[offset] & 0x7F == 0:  # STREAMINFO
            rate = int.from_bytes(flac[offset + 14 : offset + 17], "big") >> 4
            assert rate == SAMPLE_RATE
        offset += 4 + length
    frames = flac[offset:]
    assert len(frames) % 11 == 0  # 6-byte header, 3-byte CONSTANT subframe, CRC-16 (single-byte frame numbers)
    for start in range(0, len(frames), 11):
        frame = frames[start : start + 11]
        assert frame[:2] == b"\xff\xf8"
        assert _crc16(frame[:-2]) == int.from_bytes(frame[-2:], "big")


def test_opus_is_three_ogg_pages_with_valid_crcs() -> None:
    ogg = speech("hello there", "opus")
    pages, offset = [], 0
    while offset < len(ogg):
        assert ogg[offset : offset + 4] == b"OggS"
        segments = ogg[offset + 26]
        size = 27 + segments + sum(ogg[offset + 27 : offset + 27 + segments])
        page = ogg[offset : offset + size]
        stored = struct.unpack("<I", page[22:26])[0]
        assert _ogg_crc(page[:22] + b"\x00" * 4 + page[26:]) == stored
        pages.append(page)
        offset += size
    assert len(pages) == 3
    assert b"OpusHead" in pages[0] and b"OpusTags" in pages[1]


@pytest.mark.parametrize("fmt", ["mp3", "opus", "flac", "wav"])
def test_every_format_but_pcm_carries_its_text(fmt: str) -> None:
    assert tagged_text(speech("Ünïcode and spaces", fmt)) == "Ünïcode and spaces"


def test_png_chunks_have_valid_crcs(emu: DeepInfraEmulator) -> None:
    body = post(emu, "/images/generations", json={"model": FLUX, "prompt": "x", "size": "256x128"}).json()
    picture = base64.b64decode(body["data"][0]["b64_json"])
    offset, kinds = 8, []
    while offset < len(picture):
        (length,) = struct.unpack(">I", picture[offset : offset + 4])
        kind, data = picture[offset + 4 : offset + 8], picture[offset + 8 : offset + 8 + length]
        assert struct.unpack(">I", picture[offset + 8 + length : offset + 12 + length])[0] == zlib.crc32(kind + data)
        kinds.append(kind)
        offset += 12 + length
    assert kinds == [b"IHDR", b"IDAT", b"IEND"]
    assert len(zlib.decompress(picture[41 : 41 + struct.unpack(">I", picture[33:37])[0]])) == 128 * (1 + 3 * 256)


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc

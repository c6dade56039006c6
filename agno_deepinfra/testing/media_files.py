"""Small, valid media files written with the standard library: PNG images and audio in five formats.

The emulator's speech is silence, but every file is well-formed for its format, and each audio
file except raw PCM carries the spoken text in its metadata (`EMULATOR_TEXT` tag), so that
transcribing the emulator's own speech gives the text back: a deterministic round trip.
"""

from __future__ import annotations

import base64
import re
import struct
import zlib
from functools import lru_cache
from hashlib import blake2b

SAMPLE_RATE = 24000  # Kokoro's output rate
_TAG = "emulator-text"
_TAG_VALUE = re.compile(rb"emulator-text=([A-Za-z0-9_-]*={0,2});")


def text_tag(text: str) -> bytes:
    """`emulator-text=<base64url of the text>;`, readable back with `tagged_text`."""
    return f"{_TAG}={base64.urlsafe_b64encode(text.encode()).decode()};".encode()


def tagged_text(audio: bytes) -> str | None:
    """The text an emulator audio file was made from, or None for any other audio."""
    found = _TAG_VALUE.search(audio)
    return base64.urlsafe_b64decode(found.group(1)).decode(errors="replace") if found else None


# ------------------------------------------------------------------------------------- PNG


@lru_cache(maxsize=64)
def png(width: int, height: int, seed: str) -> bytes:
    """A solid-colour RGB PNG of the given size; the colour comes from `seed` (the prompt)."""
    red, green, blue = blake2b(seed.encode(), digest_size=3).digest()
    row = b"\x00" + bytes((red, green, blue)) * width  # filter type 0, then the pixels
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    pixels = zlib.compress(row * height, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", pixels) + _png_chunk(b"IEND", b"")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# ----------------------------------------------------------------------------------- audio


def duration_for(text: str) -> float:
    """Seconds of speech for a text: about 15 characters a second, between 0.5 and 3 seconds."""
    return min(3.0, max(0.5, len(text) / 15))


@lru_cache(maxsize=64)
def speech(text: str, fmt: str) -> bytes:
    """Silent speech for `text` in `fmt` (mp3, opus, flac, wav or pcm)."""
    seconds = duration_for(text)
    return _WRITERS[fmt](seconds, text_tag(text))


def _pcm(seconds: float, tag: bytes) -> bytes:
    """Raw 16-bit little-endian mono samples at 24 kHz (no room for a tag)."""
    return bytes(2 * int(seconds * SAMPLE_RATE))


def _wav(seconds: float, tag: bytes) -> bytes:
    """RIFF/WAVE, 16-bit mono PCM, with the tag in a chunk of its own (readers skip unknown chunks)."""
    data = _pcm(seconds, tag)
    fmt = struct.pack("<HHIIHH", 1, 1, SAMPLE_RATE, SAMPLE_RATE * 2, 2, 16)
    chunks = _riff_chunk(b"fmt ", fmt) + _riff_chunk(b"data", data) + _riff_chunk(b"emtx", tag)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def _riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono: 417-byte frames of 1152 samples. An all-zero side
# information block means zero-length granules, which decode to silence.
_MP3_HEADER = b"\xff\xfb\x90\xc0"
_MP3_FRAME = _MP3_HEADER + bytes(417 - len(_MP3_HEADER))


def _mp3(seconds: float, tag: bytes) -> bytes:
    """An ID3v2.3 tag (a TXXX frame holding the tag) followed by silent MP3 frames."""
    frame_body = b"\x00" + b"emulator\x00" + tag  # encoding ISO-8859-1, description, value
    txxx = b"TXXX" + struct.pack(">I", len(frame_body)) + b"\x00\x00" + frame_body
    id3 = b"ID3\x03\x00\x00" + _synchsafe(len(txxx)) + txxx
    frames = max(1, round(seconds * 44100 / 1152))
    return id3 + _MP3_FRAME * frames


def _synchsafe(size: int) -> bytes:
    return bytes((size >> shift) & 0x7F for shift in (21, 14, 7, 0))


# FLAC: 4096-sample blocks of 16-bit mono at 24 kHz, each a CONSTANT subframe of value 0 (silence).
_FLAC_BLOCK = 4096


def _flac(seconds: float, tag: bytes) -> bytes:
    """`fLaC`, STREAMINFO, a VORBIS_COMMENT block holding the tag, then silent frames."""
    blocks = max(1, round(seconds * SAMPLE_RATE / _FLAC_BLOCK))
    info = struct.pack(">HH", _FLAC_BLOCK, _FLAC_BLOCK) + bytes(6)  # block sizes; frame sizes unknown (0)
    # 20 bits sample rate, 3 bits channels - 1, 5 bits bits-per-sample - 1, 36 bits total samples.
    packed = (SAMPLE_RATE << 44) | (0 << 41) | (15 << 36) | (blocks * _FLAC_BLOCK)
    info += packed.to_bytes(8, "big") + bytes(16)  # MD5 of the audio: zero means "not computed"
    vendor = b"agno-deepinfra emulator"
    comment = struct.pack("<I", len(vendor)) + vendor + struct.pack("<II", 1, len(tag)) + tag
    metadata = _flac_block(0, info, last=False) + _flac_block(4, comment, last=True)
    return b"fLaC" + metadata + b"".join(_flac_frame(index) for index in range(blocks))


def _flac_block(kind: int, data: bytes, last: bool) -> bytes:
    return bytes(((0x80 if last else 0) | kind,)) + len(data).to_bytes(3, "big") + data


def _flac_frame(index: int) -> bytes:
    # Sync + fixed blocksize; blocksize 4096 (0b1100), 24 kHz (0b0111); mono, 16 bits; UTF-8 frame number.
    header = b"\xff\xf8\xc7\x08" + _flac_utf8(index)
    header += bytes((_crc8(header),))
    frame = header + b"\x00\x00\x00"  # subframe: CONSTANT, no wasted bits, value 0 (16 bits)
    return frame + struct.pack(">H", _crc16(frame))


def _flac_utf8(value: int) -> bytes:
    """FLAC's UTF-8-style coding of the frame number (values up to 2**16 are plenty here)."""
    if value < 0x80:
        return bytes((value,))
    if value < 0x800:
        return bytes((0xC0 | value >> 6, 0x80 | value & 0x3F))
    return bytes((0xE0 | value >> 12, 0x80 | (value >> 6) & 0x3F, 0x80 | value & 0x3F))


def _crc8(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


# Ogg Opus (RFC 7845): an OpusHead page, an OpusTags page holding the tag, then 20 ms packets of a
# silent CELT frame (the three-byte silence packet common Opus encoders emit for digital silence).
_OPUS_SILENCE = b"\xf8\xff\xfe"
_OPUS_PRE_SKIP = 312
_OGG_SERIAL = 0x45_4D_55_4C  # "EMUL"


def _opus(seconds: float, tag: bytes) -> bytes:
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, _OPUS_PRE_SKIP, SAMPLE_RATE, 0, 0)
    vendor = b"agno-deepinfra emulator"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<II", 1, len(tag)) + tag
    packets = max(1, min(255, round(seconds / 0.02)))
    granule = _OPUS_PRE_SKIP + packets * 960  # 48 kHz samples, as Ogg Opus counts them
    return (
        _ogg_page([head], granule=0, sequence=0, flags=0x02)
        + _ogg_page([tags], granule=0, sequence=1, flags=0)
        + _ogg_page([_OPUS_SILENCE] * packets, granule=granule, sequence=2, flags=0x04)
    )


def _ogg_page(packets: list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    lacing = b"".join(_lacing(len(packet)) for packet in packets)
    header = b"OggS" + struct.pack("<BBqIII", 0, flags, granule, _OGG_SERIAL, sequence, 0) + bytes((len(lacing),))
    page = header + lacing + b"".join(packets)
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def _lacing(size: int) -> bytes:
    return b"\xff" * (size // 255) + bytes((size % 255,))


@lru_cache(maxsize=1)
def _ogg_table() -> tuple[int, ...]:
    table = []
    for index in range(256):
        crc = index << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
        table.append(crc)
    return tuple(table)


def _ogg_crc(data: bytes) -> int:
    table, crc = _ogg_table(), 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ table[((crc >> 24) & 0xFF) ^ byte]
    return crc


_WRITERS = {"pcm": _pcm, "wav": _wav, "mp3": _mp3, "flac": _flac, "opus": _opus}
SPEECH_TYPES = {"mp3": "audio/mpeg", "opus": "audio/ogg", "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm"}

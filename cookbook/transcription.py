"""Speech recognition: the recipe writes a short WAV file, an agent transcribes it with Whisper and answers.

The WAV is made with the standard library's `wave` module (one second of a 440 Hz tone, then one
second of a 660 Hz tone), so the recipe needs no download. Real speech works the same way: flac,
mp3, mp4, mpeg, mpga, m4a, ogg, wav and webm files up to 25 MB.

Run: `python cookbook/transcription.py`.
"""

import math
import struct
import tempfile
import wave
from pathlib import Path

from _check import answered, fail
from agno.agent import Agent

from agno_deepinfra import DeepInfra, DeepInfraTools

RATE = 16000  # samples per second, what Whisper works at
# The one folder the tool may read audio from (the working directory unless `audio_dir` says otherwise):
# a path the model names outside it is refused, so a prompt cannot make it upload other files.
RECORDINGS = Path(tempfile.mkdtemp())


def write_recording(path: Path) -> Path:
    """Two seconds of 16-bit mono audio: a 440 Hz tone, then a 660 Hz tone."""
    samples = [
        int(8000 * math.sin(2 * math.pi * (440 if second == 0 else 660) * n / RATE))
        for second in range(2)
        for n in range(RATE)
    ]
    with wave.open(str(path), "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(RATE)
        recording.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return path


agent = Agent(
    model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    # Only the speech-recognition tool: openai/whisper-large-v3-turbo by default.
    tools=[DeepInfraTools(enable_image_generation=False, enable_speech_generation=False, audio_dir=RECORDINGS)],
    instructions="Use transcribe_audio on the file the user names, then answer their question about it.",
)

if __name__ == "__main__":
    recording = write_recording(RECORDINGS / "voice-memo.wav")
    print(f"Wrote {recording} ({recording.stat().st_size:,} bytes)")
    run = answered(agent.run(f"Transcribe the audio file {recording} and tell me whether anyone speaks in it."))
    transcript = next((str(call.result) for call in run.tools or [] if call.tool_name == "transcribe_audio"), "")
    if not transcript or transcript.startswith("Failed to"):  # DeepInfraTools tells the model what failed
        fail(f"no transcript came back: {transcript or 'the tool was never called'}")
    print(f"Whisper heard: {transcript}")
    print(run.content)

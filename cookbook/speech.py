"""Text to speech: an agent answers a question and speaks its answer to an audio file.

Speech comes back as an agno `Audio` artifact in `RunOutput.audio` (bytes, MIME type and the
text it reads), as with agno's `OpenAITools`. Kokoro 82M by default, voice `af_heart`, mp3.

Run: `python cookbook/speech.py`.
"""

import tempfile
from pathlib import Path

from _check import answered, fail
from agno.agent import Agent

from agno_deepinfra import DeepInfra, DeepInfraTools

agent = Agent(
    model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    # Only the speech tool; `KOKORO_VOICES` in agno_deepinfra.tools lists Kokoro's English voices.
    tools=[DeepInfraTools(enable_image_generation=False, enable_transcription=False, speech_voice="bf_emma")],
    instructions="Answer in one short sentence, then read that sentence aloud with generate_speech.",
    # Llama 3.3 reads text only: keep the audio in the run output instead of sending it back to the model.
    send_media_to_model=False,
)

if __name__ == "__main__":
    run = answered(agent.run("How many legs does a spider have? Give me the answer as speech."))
    print(run.content)
    if not run.audio:
        fail("the agent answered without generating speech")
    for audio in run.audio or []:
        path = Path(tempfile.mkdtemp()) / f"answer.{audio.format or 'mp3'}"
        path.write_bytes(audio.content or b"")
        print(f"Saved speech ({audio.mime_type}, {path.stat().st_size:,} bytes) to {path}")
        print(f"It says: {audio.transcript}")

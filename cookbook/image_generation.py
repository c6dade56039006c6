"""Image generation: an agent draws with DeepInfra's FLUX model and the recipe saves the picture.

`DeepInfraTools` returns images as agno artifacts, so they arrive in `RunOutput.images` (bytes,
MIME type, the prompt), exactly as with agno's own `OpenAITools`.

Run: `python cookbook/image_generation.py`.
"""

import tempfile
from pathlib import Path

from _check import answered, fail
from agno.agent import Agent

from agno_deepinfra import DeepInfra, DeepInfraTools

agent = Agent(
    model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    # Only the image tool: FLUX-1-schnell by default, 1024x1024 unless the model asks for a size.
    tools=[DeepInfraTools(enable_transcription=False, enable_speech_generation=False)],
    instructions="Use generate_image to draw what the user asks for, then describe the result in one sentence.",
    # Llama 3.3 reads text only: keep the picture in the run output instead of sending it back to the model.
    send_media_to_model=False,
)

if __name__ == "__main__":
    run = answered(agent.run("Draw an image of a lighthouse on a cliff at dawn, in watercolour."))
    print(run.content)
    if not run.images:
        fail("the agent answered without generating an image")
    for number, image in enumerate(run.images or [], start=1):
        path = Path(tempfile.mkdtemp()) / f"lighthouse-{number}.{image.format or 'png'}"
        path.write_bytes(image.content or b"")
        print(f"Saved image {number} ({image.mime_type}, {path.stat().st_size:,} bytes) to {path}")

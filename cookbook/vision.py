"""Vision: images (URL, bytes or a local file) to a DeepInfra vision model.

agno's `Image` inputs travel in the OpenAI content-part format DeepInfra accepts: URLs as they
are, bytes and files as base64 data URLs.

Run: `python cookbook/vision.py`.
"""

import base64
import tempfile
from pathlib import Path

from _check import answered
from agno.agent import Agent
from agno.media import Image

from agno_deepinfra import DeepInfra

# A 1x1 PNG, so the recipe needs no download for its bytes and file examples.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

agent = Agent(model=DeepInfra(id="meta-llama/Llama-3.2-11B-Vision-Instruct"), markdown=True)

if __name__ == "__main__":
    url = "https://upload.wikimedia.org/wikipedia/commons/0/0c/GoldenGateBridge-001.jpg"
    print(answered(agent.run("Describe this image in one sentence.", images=[Image(url=url)])).content)

    picture = Path(tempfile.mkdtemp()) / "pixel.png"
    picture.write_bytes(PIXEL)
    output = agent.run(
        "What colours do these two images have?",
        images=[Image(content=PIXEL, format="png"), Image(filepath=str(picture))],
    )
    print(answered(output).content)

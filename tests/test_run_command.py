"""`python -m agno_deepinfra.testing run SCRIPT [ARGS...]`: a pip-install user's one command to run a script offline.

The command starts the emulator, points the script at it through the environment, and exits with the
script's status. The script here is a plain agno agent that knows nothing of the emulator: it scripts
a reply over HTTP (as any process may) and runs the agent, and the test checks the reply came back.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json
    import os
    import sys
    import urllib.request

    from agno.agent import Agent

    from agno_deepinfra import DeepInfra

    root, key = os.environ["DEEPINFRA_BASE_URL"], os.environ["DEEPINFRA_API_KEY"]
    request = urllib.request.Request(
        root + "/_emulator/queue",
        data=json.dumps({"reply": {"content": "scripted for " + sys.argv[1]}}).encode(),
        headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).read()
    output = Agent(model=DeepInfra(id="meta-llama/Llama-3.3-70B-Instruct-Turbo")).run("Hello")
    print("content:", output.content)
    print("key:", key)
    sys.exit(int(sys.argv[2]))
    """
)


def run_command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "my_agent.py"
    script.write_text(SCRIPT)
    # A real key in the caller's environment must not reach the script: the emulator's replaces it.
    env = {**os.environ, "DEEPINFRA_API_KEY": "real-secret-key-123", "DEEPINFRA_BASE_URL": "https://example.invalid"}
    return subprocess.run(
        [sys.executable, "-m", "agno_deepinfra.testing", "run", str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_run_points_a_script_at_the_emulator_and_exits_with_its_status(tmp_path: Path) -> None:
    result = run_command(tmp_path, "the test", "3")
    assert result.returncode == 3, result.stderr[-2000:]
    assert "content: scripted for the test" in result.stdout, result.stdout + result.stderr[-2000:]
    assert "key: emulator-key" in result.stdout
    assert "real-secret-key-123" not in result.stdout + result.stderr
    assert "served 1 requests (chat 1)" in result.stderr


def test_run_exits_zero_when_the_script_does(tmp_path: Path) -> None:
    result = run_command(tmp_path, "zero", "0")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "content: scripted for zero" in result.stdout

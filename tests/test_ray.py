"""The Ray recipe joins a running cluster when RAY_ADDRESS names one (the local start is in test_cookbook)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agno_deepinfra.testing import DeepInfraEmulator

ray = pytest.importorskip("ray", reason="the ray extra is part of dev")
RECIPE = Path(__file__).resolve().parents[1] / "cookbook" / "ray_scale_out.py"


@pytest.fixture
def ray_cluster() -> Iterator[str]:
    """A one-node Ray cluster on loopback, started by this process and torn down with it."""
    # conftest keeps Ray in single-machine mode, so the cluster's address is a loopback one.
    context = ray.init(num_cpus=1, include_dashboard=False, logging_level="ERROR")
    try:
        yield str(context.address_info["address"])
    finally:
        ray.shutdown()


@pytest.mark.timeout(420)  # Ray starts worker processes that each import agno: minutes on a loaded 2-core machine
def test_the_recipe_joins_the_cluster_named_by_ray_address(ray_cluster: str, emu: DeepInfraEmulator) -> None:
    env = {
        **os.environ,
        "RAY_ADDRESS": ray_cluster,
        "DEEPINFRA_BASE_URL": emu.root_url,
        "DEEPINFRA_API_KEY": emu.api_key,
        "AGNO_TELEMETRY": "false",
    }
    result = subprocess.run([sys.executable, str(RECIPE)], env=env, capture_output=True, text=True, timeout=400)
    assert ray_cluster.startswith("127.0.0.1:")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"joined the Ray cluster at {ray_cluster}" in result.stdout
    assert "6/6 runs completed as Ray tasks" in result.stdout
    assert "the actor's agent answered 3 questions" in result.stdout
    assert len(emu.requests_for("chat")) == 9  # six tasks and three actor calls, each one request

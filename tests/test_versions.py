"""The declared floors are the versions `make test` really runs on, and CHANGELOG agrees with the version.

`make test-lowest` installs constraints-lowest.txt into .venv-lowest and sets AGNO_DEEPINFRA_LOWEST=1;
there the installed versions must be the floors. Everywhere, every floor in pyproject.toml must be
pinned in the constraints file (and nothing else), so a new floor cannot go untested.
"""

from __future__ import annotations

import os
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the floors are the same on 3.10

ROOT = Path(__file__).resolve().parents[1]
# Run only by `make lint typecheck`, on the newest venv: their floors are not claims about the package.
NOT_PINNED = {"ruff", "mypy"}


def declared_floors() -> dict[str, Version]:
    """The `>=` floor of every requirement `make test` installs: the package's and the dev extra's, with its extras."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras: dict[str, list[str]] = project["optional-dependencies"]
    requirements = [Requirement(line) for line in project["dependencies"] + extras["dev"]]
    for requirement in list(requirements):
        if canonicalize_name(requirement.name) == "agno-deepinfra":
            requirements += [Requirement(line) for extra in requirement.extras for line in extras[extra]]
    floors: dict[str, Version] = {}
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        for spec in requirement.specifier:
            if spec.operator == ">=" and name not in NOT_PINNED:
                floors[name] = Version(spec.version)
    return floors


def pinned() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints-lowest.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, pin = line.partition("==")
            pins[canonicalize_name(name)] = Version(pin)
    return pins


def test_every_declared_floor_is_pinned_for_the_lowest_run() -> None:
    floors = declared_floors()
    assert {"agno", "openai", "httpx", "pydantic", "h11"} <= floors.keys()
    assert pinned() == floors


@pytest.mark.skipif(not os.environ.get("AGNO_DEEPINFRA_LOWEST"), reason="only in `make test-lowest`")
def test_the_lowest_run_has_every_floor_installed() -> None:
    installed = {name: Version(version(name)) for name in pinned()}
    assert installed == pinned()


def test_changelog_names_the_version_the_package_carries() -> None:
    """Keep a Changelog: released versions get a `## [x.y.z] - date` heading; until then, [Unreleased]
    says which version it will be released as (the one pyproject.toml and `__version__` carry)."""
    package_version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = re.search(rf"^## \[{re.escape(package_version)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)
    announced = f"will be released as {package_version}" in " ".join(changelog.split())
    assert released or ("## [Unreleased]" in changelog and announced)

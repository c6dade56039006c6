"""`make test-pythons`: the suite on each pyenv Python 3.10-3.13 found here, then one line per Python.

Each Python gets its own venvs (`.venv-py3.X` for the newest releases, `.venv-lowest-py3.X` for
the floors), so the runs never share installs. The make targets to run come as arguments (`unit`
by default: the suite on the newest releases that Python resolves to; add `test-lowest` for the
floors). A supported Python that pyenv lacks is listed as not found; any failed run fails the whole.
Standard library only: it runs before any venv exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUPPORTED = ("3.10", "3.11", "3.12", "3.13")
# What each report line names: the HTTP stack under the openai SDK is httpx (openai 1.x, 2.x) or httpx2 (3.x).
REPORTED = ("agno", "openai", "httpx", "httpx2")


def pyenv_root() -> Path | None:
    """`$PYENV_ROOT`, else what `pyenv root` says, else None (no pyenv here)."""
    if os.getenv("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    if shutil.which("pyenv") is None:
        return None
    return Path(subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip())


def find_pythons(root: Path) -> dict[str, Path]:
    """The newest CPython patch release pyenv holds for each supported minor version: {"3.12": interpreter}."""
    found: dict[str, tuple[tuple[int, ...], Path]] = {}
    for entry in (root / "versions").glob("*"):
        match = re.fullmatch(r"(3\.\d+)\.(\d+)", entry.name)
        interpreter = entry / "bin" / "python"
        if match and match.group(1) in SUPPORTED and interpreter.exists():
            key = tuple(int(part) for part in entry.name.split("."))
            if match.group(1) not in found or key > found[match.group(1)][0]:
                found[match.group(1)] = (key, interpreter)
    return {minor: found[minor][1] for minor in SUPPORTED if minor in found}


def installed(venv_python: Path) -> str:
    """What the venv holds of REPORTED, as "agno 3.1.10, openai 3.63.0, ..."."""
    code = (
        "import importlib.metadata as m, importlib.util as u; "
        f"print(', '.join(n + ' ' + m.version(n) for n in {REPORTED!r} if u.find_spec(n)))"
    )
    result = subprocess.run([str(venv_python), "-c", code], capture_output=True, text=True, check=False)
    return result.stdout.strip() or "versions unknown"


def main(targets: list[str]) -> int:
    root = pyenv_root()
    if root is None:
        print("test-pythons: pyenv not found (set PYENV_ROOT or install pyenv); no Python was tested.")
        return 1
    pythons = find_pythons(root)
    if not pythons:
        print(f"test-pythons: no Python {', '.join(SUPPORTED)} under {root}/versions; nothing was tested.")
        return 1
    make = os.getenv("MAKE", "make")
    report = []
    for minor in SUPPORTED:
        if minor not in pythons:
            report.append(f"Python {minor}: not found under {root}/versions (pyenv install {minor})")
            continue
        venv = f".venv-py{minor}"
        command = [make, "--no-print-directory", *targets, f"PYTHON={pythons[minor]}", f"VENV={venv}"]
        command.append(f"LOWEST_VENV=.venv-lowest-py{minor}")
        print(f"\n===== Python {minor} ({pythons[minor]}): {' '.join(command)}", flush=True)
        code = subprocess.run(command, cwd=ROOT, check=False).returncode
        verdict = "ok" if code == 0 else f"FAILED (make exit status {code})"
        report.append(
            f"Python {pythons[minor].parents[1].name}: {verdict}; {installed(ROOT / venv / 'bin' / 'python')}"
        )
    print(f"\ntest-pythons ({' '.join(targets)}):")
    print("\n".join(f"  {line}" for line in report))
    return 1 if any("FAILED" in line for line in report) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["unit"]))

"""`make mutation`: mutmut over the retry policy, the error table and the stream-ending logic.

Why mutmut (3.x) and not cosmic-ray: mutmut writes every mutant of a file into one copy of it,
switched at run time, and runs only the tests that reached the mutated function, in processes
forked from one warmed-up pytest session. cosmic-ray rewrites the file on disk and starts the
whole test command once per mutant: with agno's import time and the emulator's start-up that
is an hour on 2 cores where mutmut takes minutes. mutmut can also be told to run named
functions only, which is how `StreamScope` is taken out of `chat/_attempt.py`. What mutmut does not
mutate: module-level constants (the status-code sets) and class bodies; those are guarded by
the table tests in tests/test_classification.py.

Steps, each of which fails loudly:
1. Canary. mutmut copies the package to mutants/, puts mutants/ first on `sys.path` and drops the
   checkout from it. The editable install (a .pth entry) and the package's pytest11 plugin could
   still make the tests import the unmutated checkout, and then no mutant can die. So a copy of
   the package with one known line broken is laid out and imported exactly that way, the test
   subset is run against it, and it must fail, having imported the copy.
2. `mutmut run` on the selected functions (`mutants/` is rebuilt: no stale results).
3. The must-die set: every mutant of `scheduled_delay` must be killed (the tests pin each part
   of its formula), which proves mutmut's own run reached the mutants.
4. The score per module, the survivors (with their diffs), and a non-zero exit under 85%.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET = 0.85
# What is mutated: the retry and error modules whole, and the stream-ending methods of chat/_attempt.py.
SELECTION = {
    "_shared/retry.py": "agno_deepinfra._shared.retry.*",
    "_shared/errors.py": "agno_deepinfra._shared.errors.*",
    "_shared/error_text.py": "agno_deepinfra._shared.error_text.*",
    "chat/_attempt.py: StreamScope": "agno_deepinfra.chat._attempt.xǁStreamScopeǁ*",
}
MUST_DIE = "agno_deepinfra._shared.retry.x_scheduled_delay__mutmut_"
# The canary: the retry schedule loses its exponential backoff.
CANARY_FILE = "agno_deepinfra/_shared/retry.py"
CANARY_LINE = "    return base * (2**attempt) if exponential else base\n"
CANARY_BROKEN = "    return base\n"
CANARY_TESTS = ["tests/test_retry_policy.py", "tests/test_policy.py"]
# Mutants that change no behaviour, recognised by their diff (names shift when the code does).
EQUIVALENT = {
    ("if jitter > 0:", "if jitter >= 0:"): "a jitter of 0 adds 0 either way",
    ('hint = _HINTS.get(status, "")', "hint = _HINTS.get(status, None)"): "no hint either way",
    ('hint = _HINTS.get(status, "")', "hint = _HINTS.get(status, )"): "no hint either way",
    ("if is_context_overflow(status, text):", "if is_context_overflow(None, text):"): (
        "the capacity statuses, the only ones it tells apart, returned on the line before"
    ),
    (
        "for _ in range(8):  # cause chains are short; the bound guards against cycles",
        "for _ in range(9):  # cause chains are short; the bound guards against cycles",
    ): "the bound only stops cycles",
    ("self.finished = False", "self.finished = None"): "both falsy; only `not self.finished` reads it",
    (
        "if cause is not None and str(cause) and str(cause) not in parts[0]:",
        "if cause is not None and str(None) and str(cause) not in parts[0]:",
    ): "an empty cause text is always `in` the first part, so the last test skips it anyway",
    ("status_code=502,", ""): "502 is the default status of agno's ModelProviderError",
    (
        "auth_error = ModelAuthenticationError(message=message, status_code=401, model_name=model_name)",
        "auth_error = ModelAuthenticationError(message=message, model_name=model_name)",
    ): "401 is the default status of agno's ModelAuthenticationError",
    (
        'if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):',
        'if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("INF"):',
    ): 'float() reads "INF" as infinity too',
    (
        'offered = families.offered_names(body) if "tools" in body else frozenset()',
        'offered = families.offered_names(body) if ("tools" in body) or True else frozenset()',
    ): "a body without tools offers no names either way",
}
KILLED = {"killed", "timeout", "caught by type check"}  # a mutant that hangs the tests is detected


def main() -> int:
    os.chdir(ROOT)
    canary()
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    run = subprocess.run([str(BIN / "mutmut"), "run", "--max-children", "2", *SELECTION.values()], check=False)
    if run.returncode != 0:
        print(f"mutmut run failed (exit {run.returncode})", file=sys.stderr)
        return 1
    statuses = read_statuses()
    must_die = {name: status for name, status in statuses.items() if name.startswith(MUST_DIE)}
    if not must_die or any(status not in KILLED for status in must_die.values()):
        print(f"CANARY FAILED: the scheduled_delay mutants did not all die: {must_die}", file=sys.stderr)
        return 1
    return report(statuses)


def canary() -> None:
    """Fail unless the test subset goes red on a broken copy imported the way mutmut imports mutants/."""
    copy = ROOT / "mutants-canary"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(ROOT / "agno_deepinfra", copy / "agno_deepinfra", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", copy / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "RELIABILITY.md", "CHANGELOG.md"):
        shutil.copy2(ROOT / name, copy / name)
    source = (copy / CANARY_FILE).read_text()
    if source.count(CANARY_LINE) != 1:
        raise SystemExit(f"CANARY FAILED: the canary line is no longer in {CANARY_FILE}; update tools/mutation.py")
    (copy / CANARY_FILE).write_text(source.replace(CANARY_LINE, CANARY_BROKEN))
    child = subprocess.run(
        [sys.executable, __file__, "--canary-child", str(copy)], capture_output=True, text=True, check=False
    )
    shutil.rmtree(copy, ignore_errors=True)
    verdict = child.stdout.strip().splitlines()[-1] if child.stdout.strip() else "{}"
    found = json.loads(verdict) if verdict.startswith("{") else {}
    imported_copy = bool(found.get("files")) and all(f.startswith(str(copy)) for f in found["files"])
    if found.get("exit") != 1 or not imported_copy:
        print(child.stdout[-3000:], child.stderr[-3000:], sep="\n", file=sys.stderr)
        raise SystemExit(
            "CANARY FAILED: the tests did not fail on a deliberately broken copy of the package "
            f"(pytest exit {found.get('exit')}, imported {found.get('files')}). The tests are importing the "
            "unmutated checkout (editable install or pytest plugin), so mutation scores would be meaningless."
        )
    print(f"canary: the broken copy was imported ({found['files'][0]}) and the tests failed on it, as they must")


def canary_child(copy: Path) -> int:
    """Run the subset as mutmut does: the copy first on sys.path, the checkout off it, pytest in-process."""
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != ROOT]
    sys.path.insert(0, str(copy))
    os.chdir(copy)
    import pytest

    code = int(pytest.main([*CANARY_TESTS, "-x", "-q", "-p", "no:cacheprovider"]))
    names = ("agno_deepinfra._shared.retry", "agno_deepinfra.testing.pytest_plugin")
    files = [str(getattr(sys.modules.get(name), "__file__", "")) for name in names]
    print(json.dumps({"exit": code, "files": files}))
    return 0


def read_statuses() -> dict[str, str]:
    """Every selected mutant's status, from mutmut's result files."""
    from mutmut.stats import status_by_exit_code

    statuses: dict[str, str] = {}
    for meta in (ROOT / "mutants" / "agno_deepinfra").rglob("*.py.meta"):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(_matches(name, pattern) for pattern in SELECTION.values()):
                statuses[name] = status_by_exit_code[code]
    return statuses


def report(statuses: dict[str, str]) -> int:
    survivors = sorted(name for name, status in statuses.items() if status not in KILLED)
    diffs = {name: _diff(name) for name in survivors}
    equivalent = {name: why for name in survivors if (why := EQUIVALENT.get(diffs[name]))}
    print("\nmodule                 killed  survived  equivalent  total  score  score without equivalents")
    failed = False
    for label, pattern in SELECTION.items():
        mine = {name: status for name, status in statuses.items() if _matches(name, pattern)}
        killed = sum(status in KILLED for status in mine.values())
        equal = sum(name in equivalent for name in mine)
        total = len(mine)
        score = killed / total if total else 0.0
        adjusted = killed / (total - equal) if total > equal else 0.0
        failed |= adjusted < TARGET
        survived = total - killed - equal
        print(f"{label:22} {killed:6}  {survived:8}  {equal:10}  {total:5}  {score:5.1%}  {adjusted:5.1%}")
    print(f"status counts: {dict(Counter(statuses.values()))}")
    print("\nsurviving mutants (mutmut show NAME for the whole diff):")
    for name in survivors:
        note = f"   [equivalent: {equivalent[name]}]" if name in equivalent else ""
        print(f"  {name} ({statuses[name]}){note}\n      - {diffs[name][0]}\n      + {diffs[name][1]}")
    if failed:
        print(f"\nbelow the target of {TARGET:.0%} killed", file=sys.stderr)
    return 1 if failed else 0


def _matches(name: str, pattern: str) -> bool:
    return name.startswith(pattern.rstrip("*"))


def _diff(name: str) -> tuple[str, str]:
    """The first removed and added line of a mutant, stripped."""
    shown = subprocess.run([str(BIN / "mutmut"), "show", name], capture_output=True, text=True, check=False).stdout
    lines = [line for line in shown.splitlines() if line[:1] in "-+" and line[:3] not in ("---", "+++")]
    removed = next((line[1:].strip() for line in lines if line.startswith("-")), "")
    added = next((line[1:].strip() for line in lines if line.startswith("+")), "")
    return removed, added


if __name__ == "__main__":
    if sys.argv[1:2] == ["--canary-child"]:
        sys.exit(canary_child(Path(sys.argv[2])))
    sys.exit(main())

"""`python -m benchmarks [--quick] [--output-dir DIR]`: run every benchmark against a local emulator.

The full run (`make bench`) writes `benchmarks/RESULTS.md`, `benchmarks/results.json`, the plots
and every timing as a pyperf suite (`benchmarks/.cache/samples.pyperf.json.gz`, not committed);
`--quick` runs tiny sizes (a smoke test, under a minute) and writes
to `benchmarks/.cache/quick/` unless `--output-dir` says otherwise. `--render-only` measures
nothing: it rewrites RESULTS.md from the results.json already there (then the block in docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.environment import apply_quiet_env, forbid_remote_hosts

HERE = Path(__file__).resolve().parent


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs (< 30 s)")
    parser.add_argument("--output-dir", type=Path, help="where to write RESULTS.md, results.json and the plot")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="measure nothing: rewrite RESULTS.md from the results.json already in the output directory",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    if args.render_only:
        from benchmarks.runner import render

        render(args.output_dir or HERE)
        _update_readme(args.output_dir)
        return 0
    apply_quiet_env()  # before anything imports agno or litellm
    forbid_remote_hosts()
    from benchmarks.config import FULL, QUICK
    from benchmarks.runner import run

    sizes = QUICK if args.quick else FULL
    output_dir = args.output_dir or (HERE / ".cache" / "quick" if args.quick else HERE)
    command = "AGNO_TELEMETRY=false python -m benchmarks" + (" --quick" if args.quick else "")
    meta = run(sizes, output_dir, command)
    print(f"done in {meta['total_seconds']:.0f} s", file=sys.stderr)
    _update_readme(output_dir)
    return 0


def _update_readme(output_dir: Path | None) -> None:
    """Regenerate docs/benchmarks.md's block when the committed results were (re)written."""
    if output_dir is None or output_dir.resolve() == HERE:
        from benchmarks import readme

        readme.main([])


if __name__ == "__main__":
    sys.exit(main())

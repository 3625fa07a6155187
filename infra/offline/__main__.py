"""``python -m infra.offline up --stack dev``: run a stack offline and show its plan."""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

from infra.offline import report
from infra.offline.engine import load_stack_config, run_stack, stack_names
from infra.offline.mocks import OfflineError
from infra.settings import SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.offline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the stack program offline, print the plan, write out/<stack>/")
    up.add_argument("--stack", required=True, choices=stack_names())
    up.add_argument("--out", type=Path, default=Path("out"), help="folder for <stack>/plan.json (default: out)")
    args = parser.parse_args(argv)

    try:
        run = run_stack(args.stack)
    except (OfflineError, SettingsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(report.render(run), end="")
    written = report.write(run, load_stack_config(args.stack), args.out)
    print(f"\nWrote {written / 'plan.json'} and {written / 'manifests'}/")
    return 0


if __name__ == "__main__":
    # One run, then exit: the cyclic collector's passes over the few hundred MB a run holds
    # (during the run, after it, and again at interpreter shutdown) cost seconds and free
    # nothing the exiting process needs.
    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)

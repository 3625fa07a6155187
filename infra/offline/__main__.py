"""``python -m infra.offline up --stack dev``: run a stack offline and show its plan."""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

from infra.offline import plan_page, report
from infra.offline.engine import STACKS, UnknownStack, load_stack_config, run_stack
from infra.offline.mocks import OfflineError
from infra.settings import SettingsError

USAGE_ERROR = 2
"""Exit code for a stack that does not exist, as for any other bad command line."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.offline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="run the stack program offline, print the plan, write out/<stack>/")
    up.add_argument("--stack", required=True, help="a stack of the stacks folder (stacks/Pulumi.<stack>.yaml)")
    up.add_argument("--stacks-dir", type=Path, default=STACKS, help="folder of Pulumi.<stack>.yaml (default: stacks)")
    up.add_argument("--out", type=Path, default=Path("out"), help="folder for <stack>/plan.json (default: out)")
    args = parser.parse_args(argv)

    started = time.monotonic()
    try:
        run = run_stack(args.stack, stacks_dir=args.stacks_dir.resolve(), progress=_progress)
    except UnknownStack as err:
        print(f"error: {err}", file=sys.stderr)
        return USAGE_ERROR
    except (OfflineError, SettingsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    _progress(f"{time.monotonic() - started:5.1f} s  planned {len(run.resources)} resources")
    print(report.render(run), end="")
    written = report.write(run, load_stack_config(args.stack, args.stacks_dir.resolve()), args.out)
    (written / "plan.html").write_text(plan_page.render(run))
    print(
        f"\nWrote {written / 'plan.json'}, {written / 'plan.html'} (open it in a browser) and {written / 'manifests'}/"
    )
    return 0


def _progress(line: str) -> None:
    print(f"offline: {line}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    # One run, then exit: the cyclic collector's passes over the few hundred MB a run holds
    # (during the run, after it, and again at interpreter shutdown) cost seconds and free
    # nothing the exiting process needs.
    gc.disable()
    code = main()
    gc.freeze()
    sys.exit(code)

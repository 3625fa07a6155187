"""`python -m app <process>` (one image, one entry point, one process type per container), and
`python -m app <tool> <subcommand> ...` for operators' tools that take arguments."""

import importlib
import sys

from app.core.logs import configure
from app.core.settings import Settings
from app.store.routing import ShardUnreachable

PROCESSES = {
    "api": "app.api.main",
    "relay": "app.pipeline.relay",
    "payment": "app.pipeline.payment",
    "inventory": "app.pipeline.inventory",
    "notification": "app.pipeline.notification",
    "fulfillment": "app.pipeline.fulfillment",
    "bootstrap-db": "app.store.bootstrap",
    "migrate": "app.store.migrate",
    "topics": "app.pipeline.topics",
}
TOOLS = {
    "reshard": "app.store.reshard_cli",
}
"""Commands whose module's `main(settings, argv)` parses the rest of the command line itself."""


def main(argv: list[str]) -> int:
    process = len(argv) == 1 and argv[0] in PROCESSES
    if not process and not (argv and argv[0] in TOOLS):
        print(f"usage: python -m app {{{'|'.join(PROCESSES)}}}", file=sys.stderr)
        print(f"       python -m app {{{'|'.join(TOOLS)}}} <subcommand> [options]", file=sys.stderr)
        return 2
    settings = Settings()  # type: ignore[call-arg]  # required fields come from the environment
    configure(settings.log_level)
    try:
        if not process:
            return int(importlib.import_module(TOOLS[argv[0]]).main(settings, argv[1:]))
        importlib.import_module(PROCESSES[argv[0]]).main(settings)
    except ShardUnreachable as exc:
        print(f"{argv[0]}: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`python -m app <process>`: one image, one entry point, one process type per container."""

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


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in PROCESSES:
        print(f"usage: python -m app {{{'|'.join(PROCESSES)}}}", file=sys.stderr)
        return 2
    settings = Settings()  # type: ignore[call-arg]  # required fields come from the environment
    configure(settings.log_level)
    try:
        importlib.import_module(PROCESSES[argv[0]]).main(settings)
    except ShardUnreachable as exc:
        print(f"{argv[0]}: cannot start: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

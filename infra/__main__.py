"""The stack program: ``pulumi up`` runs this file, and so does the offline engine."""

import sys
from pathlib import Path

# Pulumi puts infra/ itself on sys.path; the components import each other through the
# `infra` package, so the repository root must be importable too.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from infra.program import main  # noqa: E402

main()

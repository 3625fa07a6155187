"""checkov (the Kubernetes security scanner) over each stack's rendered manifests.

checkov pins libraries the stack's own tools also pin, so it lives in a virtualenv of its
own, ``.venv-checkov``, which ``make checkov-venv`` builds (about 40 s, announced; ``make test``
runs it first). Exceptions are annotations on the objects that need
them (``checkov.io/skipN: CKV_K8S_XX=reason``), so each justification sits next to its code.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.offline.engine import ROOT, load_stack_config
from infra.offline.model import StackRun
from infra.offline.report import write

VENV = ROOT / ".venv-checkov"
CHECKOV = VENV / "bin" / "checkov"
ALLOWED_SKIPS = {"CKV_K8S_15", "CKV_K8S_38", "CKV_K8S_43"}
"""The exceptions the workloads carry, each justified in infra/components/app/workloads.py."""


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov from ``.venv-checkov``; a clear failure (not a skip) when it was never built."""
    if not CHECKOV.exists():
        pytest.fail(f"checkov is not installed: run `make checkov-venv` (builds {VENV.name}, about 40 s)")
    return CHECKOV


def scan(checkov: Path, directory: Path) -> dict[str, Any]:
    result = subprocess.run(
        [str(checkov), "-d", str(directory), "--framework", "kubernetes", "--skip-download", "-o", "json"],
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    [kubernetes] = [r for r in reports if r.get("check_type") == "kubernetes"]
    return kubernetes


def test_checkov_finds_no_failure_in_the_manifests(each_stack: StackRun, checkov: Path, tmp_path: Path):
    manifests = write(each_stack, load_stack_config(each_stack.stack), tmp_path) / "manifests"
    count = len(list(manifests.glob("*.yaml")))
    assert count > 0, "no manifests were written"
    report = scan(checkov, manifests)
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"], c["check_name"]) for c in report["results"]["failed_checks"]]
    assert failed == [], f"{each_stack.stack}: checkov failures {failed}"
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0 and summary["resource_count"] >= count - 1  # checkov ignores an empty doc
    for skipped in report["results"]["skipped_checks"]:
        reason = skipped["check_result"].get("suppress_comment") or ""
        assert skipped["check_id"] in ALLOWED_SKIPS, (
            f"unexpected exception {skipped['check_id']} on {skipped['resource']}"
        )
        assert len(reason) > 20, f"{skipped['check_id']} on {skipped['resource']} has no justification"

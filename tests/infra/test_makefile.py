"""The Makefile is the front door: `make` lists what it can do, and `make up` fails cleanly."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml

from infra.offline.engine import ROOT, load_stack_config

MAKEFILE = ROOT / "Makefile"


def make(*args: str) -> subprocess.CompletedProcess[str]:
    # As a person types it: `make test` itself runs under make, whose MAKELEVEL/MAKEFLAGS would
    # make this a sub-make ("make[1]: ...").
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=600, env=env
    )


def phony_targets() -> list[str]:
    [line] = [line for line in MAKEFILE.read_text().splitlines() if line.startswith(".PHONY:")]
    return line.split(":", 1)[1].split()


def test_make_alone_is_make_help():
    assert make().stdout == make("help").stdout


def test_help_lists_every_target_with_a_description():
    listed = dict(re.findall(r"^  make (\S+) +(\S.*)$", make("help").stdout, re.MULTILINE))
    missing = [t for t in phony_targets() if t not in listed]
    assert not missing, f"targets without a `## target: description` line: {missing}"
    assert all(len(description) > 10 for description in listed.values()), listed


def test_every_listed_target_exists():
    targets = set(re.findall(r"^([a-z-]+):", MAKEFILE.read_text(), re.MULTILINE))
    listed = re.findall(r"^  make (\S+) ", make("help").stdout, re.MULTILINE)
    assert set(listed) <= targets, f"help lists targets the Makefile lacks: {set(listed) - targets}"


def only_make_line_follows(stderr: str, code: int) -> list[str]:
    """The program's own lines, after checking make added nothing but its one status line.

    GNU make always ends a failed recipe with `make: *** [Makefile:N: up] Error C` and exits 2;
    no recipe prefix or special target removes that line, so it is the one line allowed.
    """
    lines = stderr.rstrip("\n").splitlines()
    assert re.fullmatch(rf"make: \*\*\* \[Makefile:\d+: up\] Error {code}", lines[-1]), lines[-1]
    program = lines[:-1]
    assert not any(line.startswith(("make", "usage:", "Traceback", ".venv/bin/python")) for line in program), program
    return program


def test_make_up_with_an_unknown_stack_lists_the_stacks():
    result = make("up", "STACK=nope")
    assert result.returncode != 0 and result.stdout == ""
    program = only_make_line_follows(result.stderr, 2)
    assert program == [
        "error: no stack named 'nope': there is no Pulumi.nope.yaml in stacks/ (stacks: dev, prod, staging)"
    ]


def test_make_up_with_bad_config_prints_the_problems_and_fails(tmp_path: Path):
    config = {**load_stack_config("dev"), "webscale:network": {"azCount": 9}, "webscale:netwrok": {}}
    (tmp_path / "Pulumi.bad.yaml").write_text(yaml.safe_dump({"config": config}))
    result = make("up", "STACK=bad", f"STACKS_DIR={tmp_path}")
    assert result.returncode != 0 and result.stdout == ""
    program = only_make_line_follows(result.stderr, 1)
    assert program[0] == "error: stack 'bad' has invalid configuration (2 problem(s)):"
    assert program[1:] == [
        "  - webscale:network.azCount = 9: Input should be less than or equal to 3",
        "  - webscale:netwrok: unknown key (did you mean network?)",
    ]

"""`python -m bench --profile`: where each process spends its CPU during the end-to-end phase.

py-spy samples every app process at once, from outside (no change to the code measured), for a
slice of the steady window. Each sample is charged to the library its innermost frame belongs to
(sqlalchemy, asyncpg, aiokafka, pydantic, the app itself, the interpreter's asyncio...), which is
the question a profile has to answer here: is the time in our code, or in the layers under it?
"""

import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

RATE_HZ = 50
TOP_FRAMES = 8
# "function (path/to/file.py:line)" as py-spy writes each frame of a collapsed stack.
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::\d+)?\)$")


def package(frame: str) -> str:
    """The library a frame belongs to: `sqlalchemy`, `app`, `asyncio`, `uuid`...

    py-spy names files relative to their import root ("sqlalchemy/engine/base.py", "uuid.py"), so
    the first component is the package; absolute paths are cut at site-packages or the stdlib."""
    match = FRAME.match(frame)
    path = match.group("path") if match else frame
    path = path.split("site-packages/", 1)[1] if "site-packages/" in path else re.sub(r"^.*/python3\.\d+/", "", path)
    return path.lstrip("/").split("/", 1)[0].removesuffix(".py") or frame


def summarize(collapsed: str) -> tuple[int, Counter[str], Counter[str]]:
    """Samples, and self time per package and per innermost frame, from py-spy's raw output."""
    packages: Counter[str] = Counter()
    frames: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1]
        packages[package(leaf)] += int(count)
        frames[leaf] += int(count)
        total += int(count)
    return total, packages, frames


def report(name: str, collapsed: str) -> str:
    total, packages, frames = summarize(collapsed)
    if not total:
        return f"## {name}\nno samples (idle, or py-spy could not attach)\n"
    shares = ", ".join(f"{pkg} {100 * n / total:.0f}%" for pkg, n in packages.most_common(8))
    lines = [f"## {name}", f"samples: {total}", f"by library: {shares}", "top frames (self):"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in frames.most_common(TOP_FRAMES)]
    return "\n".join(lines) + "\n"


class Profiler(threading.Thread):
    """After `delay` seconds, samples `pids` for `seconds`; `text` holds the report when joined."""

    def __init__(self, pids: dict[str, int], workdir: Path, *, delay: float, seconds: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.workdir, self.delay, self.seconds = pids, workdir, delay, seconds
        self.text = ""

    def run(self) -> None:
        # Installed next to the interpreter running the bench, which need not be on PATH.
        spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        if spy is None:
            self.text = "py-spy is not installed: pip install -r app/requirements-dev.txt\n"
            return
        time.sleep(self.delay)
        outputs = {name: self.workdir / f"profile-{name}.txt" for name in self.pids}
        running = [
            subprocess.Popen(
                [
                    spy,
                    "record",
                    "--nonblocking",
                    "-r",
                    str(RATE_HZ),
                    "-d",
                    str(int(self.seconds)),
                    "-f",
                    "raw",
                    "-o",
                    str(outputs[name]),
                    "--pid",
                    str(pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in self.pids.items()
        ]
        for process in running:
            process.wait(self.seconds + 30)
        self.text = "\n".join(
            report(name, path.read_text() if path.exists() else "") for name, path in sorted(outputs.items())
        )

"""The bench's profile charges each sample to the library of its innermost frame."""

import subprocess
import sys
import textwrap
from pathlib import Path

from bench.profile import Profiler, report, summarize

COLLAPSED = textwrap.dedent(
    """\
    <module> (app/__main__.py:40);run (asyncio/runners.py:118);execute (sqlalchemy/engine/base.py:1415) 6
    <module> (app/__main__.py:40);run (asyncio/runners.py:118);_do_execute (asyncpg/connection.py:2066) 3
    <module> (app/__main__.py:40);handle (app/pipeline/inventory.py:53) 1
    """
)


def test_samples_are_charged_to_the_library_of_the_innermost_frame() -> None:
    total, packages, _ = summarize(COLLAPSED)
    assert total == 10
    assert packages == {"sqlalchemy": 6, "asyncpg": 3, "app": 1}


def test_the_report_names_each_library_share_and_the_hottest_frame_first() -> None:
    text = report("inventory-1", COLLAPSED)
    assert "by library: sqlalchemy 60%, asyncpg 30%, app 10%" in text
    assert text.index("execute (sqlalchemy/engine/base.py:1415)") < text.index("_do_execute (asyncpg")


def test_a_running_process_is_sampled_by_py_spy(tmp_path: Path) -> None:
    busy = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: sum(range(1000)); time.sleep(0)"])
    try:
        profiler = Profiler({"busy": busy.pid}, tmp_path, delay=0, seconds=2)
        profiler.run()
    finally:
        busy.kill()
        busy.wait()
    assert "## busy" in profiler.text
    assert "samples:" in profiler.text, profiler.text

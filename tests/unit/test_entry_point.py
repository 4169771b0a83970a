"""The `regress` entry point: its output and exit code survive the exit that skips Python's teardown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def command(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m regress_cli.main ...` with its output piped (so fully buffered until flushed)."""
    return subprocess.run([sys.executable, "-m", "regress_cli.main", *args], capture_output=True, text=True, cwd=ROOT)


def test_a_command_that_succeeds_exits_0_with_all_its_output_and_files(tmp_path):
    done = command("data", "simulate", "--days", "3", "--to", str(tmp_path / "days"), "--home", str(tmp_path / "h"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wrote 3 partitions of ")
    assert done.stdout.endswith("(time column ts)\n")
    assert len(list((tmp_path / "days").glob("dt=*/part.parquet"))) == 3


def test_a_command_that_fails_keeps_its_exit_code_and_its_one_line(tmp_path):
    done = command("models", "show", "nosuch", "--home", str(tmp_path / "h"))
    assert done.returncode == 4
    assert (
        done.stderr == f"regress: error: no model named 'nosuch' in {tmp_path / 'h' / 'registry'} (models: none yet)\n"
    )


def test_exit_handlers_still_run(tmp_path):
    """A handler registered while the command ran (as Prefect's log and event workers do) runs before the exit."""
    marker = tmp_path / "ran"
    script = (
        "import atexit, sys\n"
        "from pathlib import Path\n"
        "from regress_cli import main as cli\n"
        "def command(args):\n"
        f"    atexit.register(Path({str(marker)!r}).write_text, 'yes')\n"
        "    print('x' * 100000)\n"
        "    return 0\n"
        "cli.COMMANDS['data'] = command\n"
        f"sys.argv = ['regress', 'data', 'simulate', '--to', {str(tmp_path / 'd')!r}, '--home', {str(tmp_path)!r}]\n"
        "cli.run()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "x" * 100000 + "\n"
    assert marker.read_text() == "yes"


def test_a_thread_pool_left_open_is_shut_down_and_its_work_finished(tmp_path):
    """A non-daemon pool's workers stop as at a normal exit: its last task finishes, nothing hangs."""
    marker = tmp_path / "done"
    script = (
        "import sys, time\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "from pathlib import Path\n"
        "from regress_cli import main as cli\n"
        "pool = ThreadPoolExecutor(2)\n"
        "def command(args):\n"
        f"    pool.submit(lambda: (time.sleep(0.5), Path({str(marker)!r}).write_text('yes')))\n"
        "    return 3\n"
        "cli.COMMANDS['data'] = command\n"
        f"sys.argv = ['regress', 'data', 'simulate', '--to', {str(tmp_path / 'd')!r}, '--home', {str(tmp_path)!r}]\n"
        "cli.run()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 3, done.stderr
    assert marker.read_text() == "yes"


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        (["train"], True),
        (["backfill", "--start", "2026-11-01", "--end", "2026-11-03", "--data", "sales.csv"], True),
        (["backfill", "--start", "2026-11-01", "--end", "2026-11-03", "--deployment", "nightly"], False),
        (["score", "--input", "in.csv", "--output", "out.parquet"], False),
    ],
)
def test_a_side_process_starts_only_for_commands_that_train_here(argv, wanted):
    from regress_cli.main import build_parser, wants_side_process

    assert wants_side_process(build_parser().parse_args(argv)) is wanted

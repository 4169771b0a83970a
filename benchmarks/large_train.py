"""Peak memory of `regress train` on a large table, and its progress bar on a terminal.

    python benchmarks/large_train.py                            # 1,000,000 rows x 20 columns, 2 epochs
    python benchmarks/large_train.py --rows 20000 --epochs 1    # a quick check that the script works

Writes a seeded synthetic Parquet table (numeric columns, a nonlinear target with noise),
then runs `regress train --data FILE --target y` on it as a user would, on a terminal: the
command gets a pseudo-terminal of 40 x 120 characters, so it draws its progress bar. The
default preset sizes the network to the table; `--epochs` caps its epochs (`train.max_epochs`),
since each epoch of a million rows takes about a minute on 2 cores and memory does not grow
with epochs (the rows, their encodings and one copy of the best weights are held throughout).

While the command runs, the resident memory of its processes (the command and its side
process; a temporary Prefect server it starts is left out) is read from /proc every 0.2 s.
Prints the peak of their sum and of the largest one, the wall time, the chosen model and the
epochs and seconds of its training (for a network), and how many times the progress bar was
drawn; writes JSON.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PAGE = os.sysconf("SC_PAGE_SIZE")


def generate(path: Path, rows: int, columns: int, *, seed: int = 0, chunk: int = 250_000) -> None:
    """`rows` rows of `columns` standard normal inputs and a target y, written in row groups."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(columns)]
    writer = None
    for start in range(0, rows, chunk):
        x = rng.normal(size=(min(chunk, rows - start), columns))
        y = 2 * x[:, 0] + np.sin(2 * x[:, 1 % columns]) + x[:, 2 % columns] * x[:, 3 % columns]
        y += 0.5 * rng.normal(size=len(x))
        table = pa.table({**{name: x[:, i] for i, name in enumerate(names)}, "y": y})
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    if writer is not None:
        writer.close()


def tree(pid: int) -> list[int]:
    """`pid` and its descendants, from /proc."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                queue += [int(child) for child in task.read_text().split()]
            except OSError:
                continue
    return found


def resident(pid: int) -> tuple[int, str]:
    """Resident bytes of one process and its command line ("" if it is gone)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, IndexError, ValueError):
        return 0, ""
    return pages * PAGE, command


def run_on_terminal(command: list[str], env: dict[str, str]) -> dict[str, object]:
    """Run `command` on a 40 x 120 pseudo-terminal; its output, wall time and peak memory."""
    primary, secondary = os.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(command, stdin=secondary, stdout=secondary, stderr=secondary, env=env, close_fds=True)
    os.close(secondary)
    chunks: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(primary, 65536)
            except OSError:  # the terminal closes when the command exits
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    peak_sum = peak_one = 0
    largest = ""
    while process.poll() is None:
        sizes = [resident(pid) for pid in tree(process.pid)]
        work = [(size, cmd) for size, cmd in sizes if cmd and not ("prefect" in cmd and "server" in cmd)]
        peak_sum = max(peak_sum, sum(size for size, _ in work))
        for size, cmd in work:
            if size > peak_one:
                peak_one, largest = size, cmd
        time.sleep(0.2)
    reader.join(timeout=5)
    os.close(primary)
    return {
        "exit": process.returncode,
        "seconds": time.perf_counter() - started,
        "peak_rss_sum": peak_sum,
        "peak_rss_largest": peak_one,
        "largest": largest[:120],
        "output": b"".join(chunks).decode(errors="replace"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=2, help="train.max_epochs (default 2; 0: the sized budget)")
    parser.add_argument("--json", default=str(RESULTS / "large_train.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="regress-large-") as tmp:
        data = Path(tmp) / "large.parquet"
        generate(data, args.rows, args.columns)
        command = [sys.executable, "-m", "regress_cli.main", "train", "--data", str(data), "--target", "y"]
        if args.epochs:
            command += ["--set", f"train.max_epochs={args.epochs}"]
        env = {**os.environ, "REGRESS_HOME": str(Path(tmp) / "home"), "COLUMNS": "120", "LINES": "40"}
        result = run_on_terminal(command, env)
    output = re.sub(r"\x1b\[[0-9;]*m", "", str(result.pop("output")))  # without the terminal's colours
    bar_draws = len(re.findall(r"train:\s+\d+%\|", output))
    chosen = re.search(r"model selection: (\w+) chosen", output)
    trained = re.search(r"trained (\d+) epochs? in ([\d.]+) s", output)  # the chosen network's training
    summary = {
        "rows": args.rows,
        "columns": args.columns,
        "max_epochs": args.epochs or None,
        **result,
        "chosen": chosen.group(1) if chosen else None,
        "epochs": int(trained.group(1)) if trained else None,
        "training_seconds": float(trained.group(2)) if trained else None,
        "progress_bar_draws": bar_draws,
    }
    gib = 2**30
    print(f"regress train on {args.rows:,} rows x {args.columns} columns (train.max_epochs {args.epochs or 'sized'})")
    print(f"  exit status                          {summary['exit']}")
    print(f"  wall seconds                         {summary['seconds']:.1f}")
    print(f"  chosen model                         {summary['chosen']}")
    print(f"  its training: epochs, seconds        {summary['epochs']}, {summary['training_seconds']}")
    print(f"  peak resident memory, processes summed {summary['peak_rss_sum'] / gib:.2f} GiB")
    print(f"  peak resident memory, largest process  {summary['peak_rss_largest'] / gib:.2f} GiB")
    print(f"  progress bar drawn                   {bar_draws} times")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(summary, indent=1))
    if summary["exit"] != 0:
        print(output[-3000:], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()

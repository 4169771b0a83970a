"""The benchmark scripts run (on tiny inputs); their figures come from full runs, not tests."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_model_quality_benchmark_quick_variant(tmp_path):
    out = tmp_path / "mq.json"
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "model_quality.py"), "--quick", "--seeds", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {row["model"]: row for row in json.loads(out.read_text())["rows"]}
    assert {
        "regress default (seed 0)",
        "regress notebook",
        "regress linear",
        "sklearn HistGradientBoosting, tuned",
        "sklearn HistGradientBoosting, tuned, all iterations",
    } <= set(rows)
    assert all(row["rmse"] > 0 and row["seconds"] >= 0 for row in rows.values())
    assert "RMSE" in done.stdout
    assert json.loads(out.read_text())["precision"] in {"float32", "bfloat16"}

"""The benchmark scripts run (on tiny inputs); their figures come from full runs, not tests."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import session_api_url

ROOT = Path(__file__).resolve().parents[2]


def benchmark(script: str, *args: str, served: bool = False, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run benchmarks/`script` with `args`; `served` points its regress runs at the session's Prefect server."""
    env = {**os.environ, "PREFECT_API_URL": session_api_url()} if served else None
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_model_quality_benchmark_quick_variant(tmp_path):
    out = tmp_path / "mq.json"
    done = benchmark("model_quality.py", "--quick", "--seeds", "1", "--json", str(out))
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


def test_model_suite_benchmark_on_one_small_table(tmp_path):
    out = tmp_path / "suite.json"
    done = benchmark("model_suite.py", "--tables", "linear-100,autompg-398", "--seeds", "0", "--json", str(out))
    rows = {row["table"]: row for row in json.loads(out.read_text())["rows"]}
    assert set(rows) == {"linear-100", "autompg-398"}
    for row in rows.values():
        assert {"regress r2", "LinearRegression r2", "HGB defaults r2", "HGB tuned r2", "chosen"} <= set(row)
    assert rows["linear-100"]["LinearRegression r2"] > 0.9  # the peers see the same split
    assert "regress is best on" in done.stdout
    assert "noise ceiling" in done.stdout


def test_scoring_benchmark_on_a_small_file(tmp_path):
    out = tmp_path / "scoring.json"
    only = ("--only", "bare,naive,regress")
    done = benchmark("scoring.py", "--rows", "20000", "--preset", "notebook", *only, "--json", str(out), served=True)
    figures = json.loads(out.read_text())
    assert set(figures["results"]) == {"bare", "naive", "regress"}
    assert set(figures["results"]["regress"]["phases"]) == {"read", "checks", "model", "write"}
    assert figures["arithmetic_limit"]["flops_per_row"] == 2 * (8 * 64 + 64 * 32 + 32 * 1)  # the 64-32 MLP
    assert "where the time went" in done.stdout
    assert "arithmetic limit" in done.stdout


def test_partition_pruning_benchmark_reads_only_the_windows_days():
    done = benchmark("partitions.py", "--days", "40", "--window", "10", "--rows-per-day", "50", "--repeat", "1")
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[2:]}
    assert rows["all"][4] == "2,000"  # 40 days of 50 rows
    assert rows["10-day"][4] == "500"  # the window's 10 days, and no other


def test_train_cost_benchmark_splits_one_run(tmp_path):
    out = tmp_path / "cost.json"
    # The session's server stands for a running one, so the script starts none.
    done = benchmark(
        "train_cost.py", "--tables", "california-1030", "--preset", "linear", "--json", str(out), served=True
    )
    (result,) = json.loads(out.read_text())["tables"]
    phases = result["phases"]
    assert {"start-up", "validate", "train", "evaluate", "publish", "gate", "end"} <= set(phases)
    assert all(seconds >= 0 for name, seconds in phases.items() if name != "between tasks")
    assert sum(phases.values()) == pytest.approx(result["wall_s"], abs=0.01)
    assert result["training"]["chosen"] == "linear"
    assert result["training"]["threads"] >= 1
    assert result["training"]["threads_reason"]
    assert "whole command" in done.stdout
    assert "imports of the training flow" in done.stdout


def test_large_table_benchmark_measures_memory_and_sees_the_progress_bar(tmp_path):
    out = tmp_path / "large.json"
    done = benchmark("large_train.py", "--rows", "20000", "--epochs", "2", "--json", str(out), served=True)
    result = json.loads(out.read_text())
    assert result["exit"] == 0
    assert (result["rows"], result["max_epochs"]) == (20000, 2)
    # the command and its side process together hold more than the command alone
    assert result["peak_rss_sum"] > result["peak_rss_largest"] > 100 * 2**20
    assert result["chosen"] in {"linear", "embedding_mlp"}
    assert result["progress_bar_draws"] >= 2  # the bar at 0 of 2 epochs, then at each epoch
    assert "peak resident memory" in done.stdout


def test_patience_benchmark_replays_each_rule_on_one_table(tmp_path):
    out = tmp_path / "patience.json"
    args = ("--tables", "autompg-398", "--seeds", "0", "--rules", "20,10", "--json", str(out))
    done = benchmark("patience_check.py", *args)
    (row,) = json.loads(out.read_text())["rows"]
    assert row["table"] == "autompg-398"
    long, short = row["rules"]["20"], row["rules"]["10"]
    assert short["seconds"] <= long["seconds"]  # the same curve, cut sooner or as soon
    for rule in (long, short):
        for best, stop in rule["stops"].values():
            assert 1 <= best <= stop
    assert "R10: unchanged on" in done.stdout

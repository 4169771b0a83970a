"""`regress score --interval` and `regress monitor` on its output, as a user runs them, and what they refuse.

Commands run in this process (`regress_cli.main.main`) on the session's Prefect server.
"""

import contextlib
import io
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from flows.scoring import batch_scoring
from regress_cli.main import main
from regress_core.config import ScoringConfig
from regress_core.errors import ConfigError
from regress_core.registry.manifest import write_manifest
from regress_core.registry.package import INTERVALS
from tests.helpers import make_table, model_registry, registry_snapshot, scoring_input

DAYS = ("2026-11-30", "2026-12-01")
ROWS = 120


def run_cli(cwd: Path, home: str, *args: str) -> tuple[int, str, list[str]]:
    """`regress` in this process, in `cwd`: exit code, standard output, its `regress:` lines on stderr."""
    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([*args, "--home", home])
    finally:
        os.chdir(before)
    return code, out.getvalue(), [line for line in err.getvalue().splitlines() if line.startswith("regress:")]


@pytest.fixture
def incoming(tmp_path):
    """Two days of rows to score (with an id), and the true values of all of them in a table of their own."""
    truth = []
    for offset, day in enumerate(DAYS):
        rows = make_table(ROWS, seed=20 + offset)
        rows.insert(0, "house_id", [f"{day}-{index}" for index in range(ROWS)])
        folder = tmp_path / "incoming" / f"dt={day}"
        folder.mkdir(parents=True)
        rows.drop(columns="y").to_parquet(folder / "rows.parquet", index=False)
        truth.append(rows[["house_id", "y"]])
    pd.concat(truth).to_csv(tmp_path / "actuals.csv", index=False)
    return tmp_path


def test_scored_intervals_are_monitored_with_the_coverage_pandas_finds(incoming, trained_home):
    output = "predictions/dt={as_of}/predictions.parquet"
    for day in DAYS:
        code, out, errors = run_cli(
            incoming,
            trained_home,
            *("score", "--as-of", day, "--input", "incoming/dt={as_of}/rows.parquet", "--output", output),
            *("--keep", "house_id", "--stamp", "--interval", "--skip-scored"),
        )
        assert (code, errors) == (0, [])
        assert "prediction intervals at level 0.9: columns lower and upper" in out
    written = incoming / f"predictions/dt={DAYS[1]}/predictions.parquet"
    frame = pd.read_parquet(written)
    assert list(frame.columns) == ["house_id", "prediction", "lower", "upper", "model", "model_version", "as_of"]
    assert (frame["lower"] <= frame["prediction"]).all()
    assert (frame["prediction"] <= frame["upper"]).all()
    recorded = pq.read_metadata(written).metadata
    assert (recorded[b"regress.as_of"], recorded[b"regress.interval"]) == (b"2026-12-01", b"0.90")

    code, out, _ = run_cli(
        incoming,
        trained_home,
        *("monitor", "--predictions", str(incoming / output.replace("{as_of}", "{date}"))),
        *("--actuals", str(incoming / "actuals.csv"), "--key", "house_id", "--target", "y"),
        *("--window", "2d", "--as-of", DAYS[1], "--json"),
    )
    assert code == 0
    document = json.loads(out)
    truth = pd.read_csv(incoming / "actuals.csv")
    for day in document["days"]:
        scored = pd.read_parquet(incoming / f"predictions/dt={day['date']}/predictions.parquet")
        both = scored.merge(truth, on="house_id")
        inside = (both["lower"] <= both["y"]) & (both["y"] <= both["upper"])
        assert day["coverage"] == pytest.approx(inside.mean(), abs=1e-12)
        assert day["mean_width"] == pytest.approx((both["upper"] - both["lower"]).mean(), rel=1e-12)
        assert (day["rows"], day["interval_level"]) == (ROWS, 0.9)

    # The ledger tells intervals at another level from the ones written: that day is scored again.
    code, out, _ = run_cli(
        incoming,
        trained_home,
        *("score", "--as-of", DAYS[1], "--input", "incoming/dt={as_of}/rows.parquet", "--output", output),
        *("--keep", "house_id", "--stamp", "--interval", "0.8", "--skip-scored"),
    )
    assert code == 0
    assert "prediction intervals at level 0.8" in out
    assert pq.read_metadata(written).metadata[b"regress.interval"] == b"0.80"


def test_a_database_table_gets_the_bounds_as_columns(tmp_path, trained_home):
    scoring_input(50).to_parquet(tmp_path / "rows.parquet", index=False)
    code, out, errors = run_cli(
        tmp_path,
        trained_home,
        *("score", "--input", "rows.parquet", "--output", "sqlite:///preds.db", "--table", "predictions"),
        *("--keep", "id", "--interval", "0.8", "--as-of", "2026-12-01"),
    )
    assert (code, errors) == (0, [])
    assert "wrote 50 predictions for 2026-12-01 to table predictions" in out
    with sqlite3.connect(tmp_path / "preds.db") as connection:
        stored = pd.read_sql("SELECT * FROM predictions", connection)
    assert list(stored.columns) == ["id", "prediction", "lower", "upper", "as_of"]
    assert (stored["lower"] < stored["prediction"]).all()
    assert (stored["prediction"] < stored["upper"]).all()


@pytest.fixture
def old_home(tmp_path, trained_home):
    """A copy of the trained workspace whose version was published before intervals (no intervals.json)."""
    home = tmp_path / "old-home"
    shutil.copytree(trained_home, home)
    registry = model_registry(str(home))
    package_dir = registry.version_dir(registry.champion())
    (package_dir / INTERVALS).unlink()
    write_manifest(package_dir)
    return str(home)


@pytest.mark.parametrize(
    ("level", "message"),
    [
        (["0.999"], "regress: error: no interval at level 0.999: this version holds levels 0.50 to 0.99"),
        (["0.99"], "regress: error: an interval at level 0.99 needs at least 99 validation rows; this version"),
        ([], "regress: error: model train@v0001 holds no prediction intervals (it was published before regress"),
    ],
)
def test_intervals_the_version_cannot_give_are_refused_and_nothing_is_written(
    tmp_path, trained_home, old_home, level, message
):
    home = old_home if not level else trained_home
    scoring_input(20).to_parquet(tmp_path / "rows.parquet", index=False)
    before = registry_snapshot(home)
    code, _, errors = run_cli(
        tmp_path, home, "score", "--input", "rows.parquet", "--output", "out.parquet", "--interval", *level
    )
    assert code != 0
    assert len(errors) == 1
    assert errors[0].startswith(message)
    assert not (tmp_path / "out.parquet").exists()
    assert registry_snapshot(home) == before


def test_a_deployment_asking_for_a_level_the_version_lacks_fails_before_scoring(tmp_path, trained_home):
    scoring_input(20).to_parquet(tmp_path / "rows.parquet", index=False)
    params = ScoringConfig(
        input=str(tmp_path / "rows.parquet"), output=str(tmp_path / "out.parquet"), home=trained_home, interval=0.999
    )
    with pytest.raises(ConfigError, match=r"^no interval at level 0\.999"):
        batch_scoring(params=params)
    assert not (tmp_path / "out.parquet").exists()

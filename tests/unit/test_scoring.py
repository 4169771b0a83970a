"""Batch scoring in the core: exact predictions, order, validation, rejects, drift, safety."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from regress_core.errors import ConfigError, DataError, DataValidationError, RegistryError
from regress_core.registry.package import load_package
from regress_core.scoring.predict import scoring_precision
from regress_core.scoring.streaming import score
from tests.helpers import model_registry, scoring_input, train_package


@pytest.fixture
def rows(tmp_path):
    df = scoring_input()
    df.to_parquet(tmp_path / "in.parquet", index=False)
    return df


def leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_predictions_match_the_model_exactly_in_input_order(tmp_path, package, rows):
    summary = score(
        package,
        input_location=str(tmp_path / "in.parquet"),
        output=str(tmp_path / "out.parquet"),
        keep=["id", "label"],
        batch_rows=64,
    )
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert list(out.columns) == ["id", "label", "prediction"]
    assert out.id.tolist() == rows.id.tolist()
    assert out.label.tolist() == rows.label.tolist()
    # The same precision scoring chose ("auto": bfloat16 where the CPU computes it natively).
    precision = scoring_precision("auto", package)
    assert summary.precision == str(precision).removeprefix("torch.")
    np.testing.assert_array_equal(out.prediction.to_numpy(), package.predict(rows, precision=precision))
    assert (summary.rows_in, summary.rows_scored, summary.rows_rejected) == (500, 500, 0)


def test_output_records_model_version_input_hash_and_time(tmp_path, package, rows):
    summary = score(package, input_location=str(tmp_path / "in.parquet"), output=str(tmp_path / "out.parquet"))
    metadata = {k.decode(): v.decode() for k, v in pq.read_metadata(tmp_path / "out.parquet").metadata.items()}
    assert (metadata["regress.model"], metadata["regress.model_version"]) == (package.name, package.version)
    assert metadata["regress.input_sha256"] == summary.input_sha256
    assert len(summary.input_sha256) == 64
    assert metadata["regress.scored_at"].startswith("20")


def test_folder_scores_like_the_concatenation_of_its_files(tmp_path, package, rows):
    (tmp_path / "parts").mkdir()
    rows.iloc[:200].to_parquet(tmp_path / "parts" / "a.parquet", index=False)
    rows.iloc[200:].to_csv(tmp_path / "parts" / "b.csv", index=False)
    score(package, input_location=str(tmp_path / "parts"), output=str(tmp_path / "folder.parquet"), keep=["id"])
    score(package, input_location=str(tmp_path / "in.parquet"), output=str(tmp_path / "whole.parquet"), keep=["id"])
    folder, whole = pd.read_parquet(tmp_path / "folder.parquet"), pd.read_parquet(tmp_path / "whole.parquet")
    pd.testing.assert_frame_equal(folder, whole, check_exact=False, rtol=1e-12)
    score(package, input_location=str(tmp_path / "parts" / "*.parquet"), output=str(tmp_path / "glob.parquet"))
    assert len(pd.read_parquet(tmp_path / "glob.parquet")) == 200


def test_invalid_rows_fail_the_job_and_write_nothing(tmp_path, package, rows):
    rows["a"] = rows["a"].astype(object)
    rows.loc[3, "a"] = "n/a"
    rows.loc[9, "b"] = np.inf
    rows.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(
        DataValidationError,
        match=(
            r"2 rows in .*bad.csv break the data contract "
            r"\(row 3: a is not numeric; row 9: b is not finite\); nothing was written"
        ),
    ):
        score(package, input_location=str(tmp_path / "bad.csv"), output=str(tmp_path / "out.parquet"))
    assert not (tmp_path / "out.parquet").exists()
    assert leftovers(tmp_path) == []


def test_invalid_row_past_the_first_batch_is_named_by_its_row_in_the_file(tmp_path, package, rows):
    rows.loc[130, "b"] = np.inf
    rows.to_parquet(tmp_path / "bad.parquet", index=False)
    with pytest.raises(DataValidationError, match=r"\(row 130: b is not finite\)"):
        score(
            package, input_location=str(tmp_path / "bad.parquet"), output=str(tmp_path / "out.parquet"), batch_rows=64
        )


def test_drop_scores_valid_rows_and_writes_rejects_with_reasons(tmp_path, package, rows):
    rows.loc[[4, 7], "a"] = [np.nan, 1e9]
    rows.to_parquet(tmp_path / "bad.parquet", index=False)
    summary = score(
        package,
        input_location=str(tmp_path / "bad.parquet"),
        output=str(tmp_path / "out.parquet"),
        keep=["id"],
        on_invalid="drop",
        batch_rows=3,
    )
    out = pd.read_parquet(tmp_path / "out.parquet")
    rejected = pd.read_parquet(summary.rejected_path)
    assert (summary.rows_scored, summary.rows_rejected) == (498, 2)
    assert out.id.tolist() == rows.drop(index=[4, 7]).id.tolist()
    assert rejected.row_number.tolist() == [4, 7]
    assert rejected.reason.tolist()[0] == "a is blank"
    assert rejected.reason.tolist()[1].startswith("a above")


def test_missing_feature_or_keep_column_is_refused(tmp_path, package, rows):
    rows.drop(columns="b").to_parquet(tmp_path / "nob.parquet", index=False)
    with pytest.raises(DataError, match="is missing columns: b"):
        score(package, input_location=str(tmp_path / "nob.parquet"), output=str(tmp_path / "o.parquet"))
    with pytest.raises(DataError, match="is missing columns: order_id"):
        score(
            package, input_location=str(tmp_path / "in.parquet"), output=str(tmp_path / "o.parquet"), keep=["order_id"]
        )
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("output", "message"),
    [("out.csv", "must be a Parquet file"), ("s3://bucket/out.csv", "must name a Parquet object")],
)
def test_bad_output_paths(tmp_path, package, rows, output, message):
    with pytest.raises(ConfigError, match=message):
        score(package, input_location=str(tmp_path / "in.parquet"), output=output)


def test_missing_input(tmp_path, package):
    with pytest.raises(DataError, match="input not found"):
        score(package, input_location=str(tmp_path / "none.parquet"), output=str(tmp_path / "o.parquet"))


def test_drift_is_small_on_like_data_and_large_on_shifted_data(tmp_path, package, rows):
    same = score(package, input_location=str(tmp_path / "in.parquet"), output=str(tmp_path / "o.parquet"))
    rows.assign(a=rows.a + 8).to_parquet(tmp_path / "shifted.parquet", index=False)
    shifted = score(
        package,
        input_location=str(tmp_path / "shifted.parquet"),
        output=str(tmp_path / "o2.parquet"),
        on_invalid="drop",
    )
    assert max(same.psi.values()) < 0.1
    assert shifted.psi["a"] > 1.0
    assert shifted.psi["a"] > 5 * shifted.psi["b"]


def test_tampered_or_missing_package_is_refused(tmp_path):
    home = str(tmp_path / "home")
    version = train_package(home)
    registry = model_registry(home)
    with open(registry.version_dir(version) / "preprocessor.skops", "ab") as handle:
        handle.write(b"\x00")
    with pytest.raises(
        RegistryError, match=f"model version {version} was altered: checksum mismatch in preprocessor.skops"
    ):
        load_package(registry, version)
    with pytest.raises(RegistryError, match="model version train@v0099 not found"):
        load_package(registry, "v0099")


def test_an_output_that_is_the_input_is_refused_and_the_input_kept(tmp_path, package, rows):
    source = tmp_path / "in.parquet"
    before = source.read_bytes()
    with pytest.raises(ConfigError, match=r"--output .*in.parquet would overwrite the input .*in.parquet"):
        score(package, input_location=str(source), output=str(tmp_path / "sub" / ".." / "in.parquet"))
    link = tmp_path / "link.parquet"
    link.symlink_to(source)
    with pytest.raises(ConfigError, match="would overwrite the input"):
        score(package, input_location=str(link), output=str(source))
    assert source.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_kept_csv_columns_come_out_exactly_as_written(tmp_path, package, rows):
    table = rows.assign(id=[f"{i:05d}" for i in range(len(rows))])
    table.loc[400:, "id"] = "A-2999"  # text only after the first batches
    table.loc[3, "label"] = ""
    table.to_csv(tmp_path / "ids.csv", index=False)
    score(
        package,
        input_location=str(tmp_path / "ids.csv"),
        output=str(tmp_path / "out.parquet"),
        keep=["id", "label"],
        batch_rows=64,
    )
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out.id.tolist()[:3] == ["00000", "00001", "00002"]
    assert out.id.iloc[-1] == "A-2999"
    assert out.label.isna().sum() == 1
    assert out.label.iloc[4] == "r4"


def test_a_clean_run_removes_the_rejected_file_of_an_earlier_run(tmp_path, package, rows):
    rows.assign(a=rows.a.astype(object).where(rows.index != 5, "n/a")).to_csv(tmp_path / "bad.csv", index=False)
    output = tmp_path / "out.parquet"
    first = score(package, input_location=str(tmp_path / "bad.csv"), output=str(output), on_invalid="drop")
    assert first.rejected_path == str(tmp_path / "out.rejected.parquet")
    assert Path(first.rejected_path).is_file()
    clean = score(package, input_location=str(tmp_path / "in.parquet"), output=str(output))
    assert clean.rejected_path is None
    assert not (tmp_path / "out.rejected.parquet").exists()
    assert leftovers(tmp_path) == []


def test_temporaries_of_killed_writers_are_cleared_and_live_ones_kept(tmp_path, package, rows):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".out.parquet.{int(dead.stdout)}.abc123.tmp"
    live = tmp_path / f".out.parquet.{os.getppid()}.def456.tmp"
    stale.write_bytes(b"x" * 1000)
    live.write_bytes(b"x")
    score(package, input_location=str(tmp_path / "in.parquet"), output=str(tmp_path / "out.parquet"))
    assert not stale.exists()
    assert live.exists()


def test_scoring_records_its_precision_and_where_the_time_went(tmp_path, package, rows):
    summary = score(
        package, input_location=str(tmp_path / "in.parquet"), output=str(tmp_path / "out.parquet"), precision="float32"
    )
    metadata = {k.decode(): v.decode() for k, v in pq.read_metadata(tmp_path / "out.parquet").metadata.items()}
    assert metadata["regress.precision"] == summary.precision == "float32"
    assert set(summary.phase_seconds) == {"read", "checks", "model", "write"}
    assert all(value >= 0 for value in summary.phase_seconds.values())
    assert sum(summary.phase_seconds.values()) <= summary.seconds
    assert summary.rows_per_second == summary.rows_in / summary.seconds


def test_bfloat16_scoring_stays_close_to_float32(tmp_path, package, rows):
    outputs = {}
    for precision in ("float32", "bfloat16"):
        path = tmp_path / f"{precision}.parquet"
        summary = score(package, input_location=str(tmp_path / "in.parquet"), output=str(path), precision=precision)
        assert summary.precision == precision
        outputs[precision] = pd.read_parquet(path).prediction.to_numpy()
    difference = np.abs(outputs["bfloat16"] - outputs["float32"])
    assert 0 < difference.max() <= 0.01 * np.abs(outputs["float32"]).max()


def test_auto_precision_follows_the_hardware_and_keeps_a_linear_model_in_float32(package):
    import torch

    from regress_core.model.device import native_bfloat16

    native = native_bfloat16(torch.device("cpu"))
    assert scoring_precision("auto", package) == (torch.bfloat16 if native else torch.float32)
    assert scoring_precision("float32", package) == torch.float32
    assert scoring_precision("bfloat16", package) == torch.bfloat16
    linear = dataclasses.replace(package, spec=dataclasses.replace(package.spec, kind="linear"))
    assert scoring_precision("auto", linear) == torch.float32
    with pytest.raises(ConfigError, match="precision must be one of auto, float32, bfloat16"):
        scoring_precision("half", package)


def test_a_progress_bar_counts_the_rows_of_all_inputs(tmp_path, package, rows, capsys):
    score(package, input_location=str(tmp_path / "in.parquet"), output=str(tmp_path / "o.parquet"), progress=True)
    shown = capsys.readouterr().err
    assert shown.startswith("\rscore:"), shown
    assert "/500 [" in shown, shown
    assert "rows/s" in shown, shown  # cleared when done
    score(package, input_location=str(tmp_path / "in.parquet"), output=str(tmp_path / "o2.parquet"))
    assert capsys.readouterr().err == ""

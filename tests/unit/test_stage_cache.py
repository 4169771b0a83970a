"""Stage records: files named relative to the workspace, checked against their hashes before use."""

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from regress_core.config import build_config
from regress_core.errors import DataError
from regress_core.pipeline import data_stages, model_stages
from regress_core.pipeline.records import changed_files, rehome
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry
from tests.helpers import fast_config, make_table, skops_payload


@pytest.fixture
def config(tmp_path):
    source = tmp_path / "train.csv"
    make_table(150, seed=3).to_csv(source, index=False)
    return build_config(values=fast_config(str(tmp_path / "home"), data={"source": str(source), "target": "y"}))


def data_stage_records(config, ws):
    raw = data_stages.ingest(config.data, ws)
    validated = data_stages.validate(raw, config.data, ws)
    splits = data_stages.split(validated, config.split, ws)
    return validated, splits, data_stages.scale(splits, validated, config.features, ws)


def test_records_name_their_files_relative_to_the_workspace(config):
    ws = Workspace.at(config.registry.home)
    validated, splits, scaled = data_stage_records(config, ws)
    files = [validated.contract_file, validated.table.file, splits.test.file, scaled.train.file]
    assert scaled.preprocessor_file.startswith("cache/scale/")
    assert scaled.preprocessor_file.endswith(".skops")
    assert not any(Path(file).is_absolute() for file in [*files, scaled.preprocessor_file])
    assert Path(scaled.preprocessor_path) == ws.root / scaled.preprocessor_file
    assert changed_files(scaled) == []
    assert changed_files(validated) == []


def test_a_copied_workspace_reads_its_own_files(config, tmp_path):
    ws = Workspace.at(config.registry.home)
    validated, splits, scaled = data_stage_records(config, ws)
    trained = model_stages.train(scaled, config.model, config.train, ws)
    copy = Workspace(tmp_path / "copy")
    shutil.copytree(ws.root, copy.root)
    shutil.rmtree(ws.root)
    validated, splits, scaled, trained = (rehome(record, copy.root) for record in (validated, splits, scaled, trained))
    assert Path(scaled.preprocessor_path).is_relative_to(copy.root)
    assert changed_files(scaled) == []
    evaluation = model_stages.evaluate(trained, scaled, splits, validated, copy)
    assert evaluation.metrics["r2"] > 0.5
    assert Path(evaluation.plots["loss_curves"]).is_relative_to(copy.root)
    ref, new = model_stages.publish(config, validated, splits, scaled, trained, evaluation, copy)
    assert new
    assert (Registry(copy.registry_dir).model(ref.model).version_dir(ref.version) / "preprocessor.skops").is_file()
    assert not ws.root.exists()


def test_a_tampered_cached_preprocessor_is_not_loaded(config, tmp_path):
    ws = Workspace.at(config.registry.home)
    validated, splits, scaled = data_stage_records(config, ws)
    trained = model_stages.train(scaled, config.model, config.train, ws)
    marker = tmp_path / "pwned"
    Path(scaled.preprocessor_path).write_bytes(skops_payload(marker))
    assert changed_files(scaled) == [scaled.preprocessor_path]  # what makes the flow run the stage again
    message = f"cached preprocessor {scaled.preprocessor_path} is missing or changed; re-run with --refresh-cache"
    with pytest.raises(DataError, match=message):
        model_stages.evaluate(trained, scaled, splits, validated, ws)
    assert not marker.exists()
    rescaled = data_stages.scale(splits, validated, config.features, ws)
    assert rescaled == scaled
    assert changed_files(scaled) == []
    assert np.isfinite(model_stages.evaluate(trained, scaled, splits, validated, ws).metrics["rmse"])


def test_changed_weights_are_neither_evaluated_nor_published(config):
    ws = Workspace.at(config.registry.home)
    validated, splits, scaled = data_stage_records(config, ws)
    trained = model_stages.train(scaled, config.model, config.train, ws)
    evaluation = model_stages.evaluate(trained, scaled, splits, validated, ws)
    Path(trained.weights_path).write_bytes(b"not the recorded weights")
    with pytest.raises(DataError, match=r"cached model weights .* is missing or changed"):
        model_stages.evaluate(trained, scaled, splits, validated, ws)
    with pytest.raises(DataError, match=r"cached model weights .* is missing or changed"):
        model_stages.publish(config, validated, splits, scaled, trained, evaluation, ws)
    assert Registry(ws.registry_dir).models() == []


# Its odd record holds an integer among float metrics on purpose: pydantic warns of it as it serialises.
@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_every_stage_record_round_trips_through_json(config):
    from regress_core.pipeline.record_json import dump_record, load_record

    ws = Workspace.at(config.registry.home)
    validated, splits, scaled = data_stage_records(config, ws)
    trained = model_stages.train(scaled, config.model, config.train, ws)
    evaluation = model_stages.evaluate(trained, scaled, splits, validated, ws)
    for record in (validated.table, validated, splits, scaled, trained, evaluation):
        assert load_record(dump_record(record)) == record, type(record).__name__
    odd = replace(evaluation, metrics={"rmse": np.float64("nan"), "rows": np.int64(3)})
    back = load_record(dump_record(odd))
    assert np.isnan(back.metrics["rmse"])
    assert back.metrics["rows"] == 3


def test_only_stage_records_are_read_from_json():
    from regress_core.pipeline.record_json import dump_record, load_record

    with pytest.raises(TypeError, match="not a stage record"):
        dump_record({"file": "x"})
    with pytest.raises(ValueError, match="unknown record class 'Popen'"):
        load_record(b'{"format": "regress-record/1", "record": "Popen", "fields": {"args": "true"}}')
    with pytest.raises(ValueError, match="no regress-record format marker"):
        load_record(b'{"record": "TableRef", "fields": {}}')
    with pytest.raises(ValueError, match="does not fit its fields"):
        load_record(b'{"format": "regress-record/1", "record": "TableRef", "fields": {"file": "x"}}')
    with pytest.raises(ValueError, match="not a stage record"):
        load_record(b"\x80\x04K\x01.")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"file": "/etc/passwd"}, "names the file '/etc/passwd' outside its workspace"),
        ({"file": "cache/../../outside.parquet"}, "names the file 'cache/../../outside.parquet' outside"),
        ({"sha256": "../../registry/champion.json"}, "where a SHA-256 belongs"),
    ],
)
def test_a_json_record_cannot_name_files_outside_its_workspace(fields, message):
    import json

    from regress_core.pipeline.record_json import load_record

    sound = {"file": "cache/raw/k.parquet", "sha256": "a" * 64, "rows": 3, "home": "/w", "key": "k"}
    assert load_record(json.dumps({"format": "regress-record/1", "record": "TableRef", "fields": sound}).encode())
    payload = {"format": "regress-record/1", "record": "TableRef", "fields": {**sound, **fields}}
    with pytest.raises(ValueError, match=message):
        load_record(json.dumps(payload).encode())

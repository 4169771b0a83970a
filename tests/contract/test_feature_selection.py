"""data.features restricts the model's inputs; the other contract columns are left alone."""

from pathlib import Path

import pytest

from regress_core.config import build_config
from regress_core.errors import ConfigError
from regress_core.pipeline.data_stages import ingest, validate
from regress_core.pipeline.workspace import Workspace
from tests.helpers import make_table


def test_selected_features_only(tmp_path):
    path = tmp_path / "t.csv"
    make_table().assign(c=1.0).to_csv(path, index=False)
    ws = Workspace.at(tmp_path / "home")
    config = build_config(values={"data": {"source": str(path), "target": "y", "features": ["a", "b"]}})
    validated = validate(ingest(config.data, ws), config.data, ws)
    assert "name: c" not in Path(validated.contract_path).read_text()
    bad = build_config(values={"data": {"source": str(path), "target": "y", "features": ["a", "zz"]}})
    with pytest.raises(ConfigError, match=r"data.features names columns not in the data contract: zz"):
        validate(ingest(bad.data, ws), bad.data, ws)

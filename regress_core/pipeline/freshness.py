"""Whether a windowed run brings anything new: rows, settings or code its model's champion was not trained on."""

from __future__ import annotations

from dataclasses import dataclass

from regress_core.config import RegressConfig
from regress_core.pipeline.preflight import expected_model_name
from regress_core.pipeline.records import TableRef
from regress_core.pipeline.versioning import code_version
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry


@dataclass(frozen=True)
class NothingNew:
    """A run that stopped after ingest: its window holds the rows the champion was trained on."""

    model: str
    version: str
    rows: int
    as_of: str | None = None

    @property
    def summary(self) -> str:
        return f"nothing new since {self.model}@{self.version} (same {self.rows} rows)"


def find_nothing_new(config: RegressConfig, raw: TableRef, ws: Workspace) -> NothingNew | None:
    """The champion this run would only repeat, or None when there is something to train on.

    Only a run on a time window is compared: its raw snapshot's hash against the snapshot
    the champion was trained on, its resolved configuration against the champion's, and the
    code version. A run without a window, or a model without a champion, always trains.

    Args:
        config: The run's resolved configuration.
        raw: The run's raw snapshot (the ingest stage's record).
        ws: The workspace.
    """
    if raw.window is None:
        return None
    model = Registry(ws.registry_dir).model(expected_model_name(config))
    champion = model.champion()
    if champion is None:
        return None
    metadata = model.metadata(champion)
    same = (
        metadata.get("data", {}).get("raw_sha256") == raw.sha256
        and metadata.get("config") == config.model_dump(mode="json")
        and metadata.get("code_version") == code_version()
    )
    return NothingNew(model.name, champion, raw.rows, raw.window.get("as_of")) if same else None

"""A backfill: one training run for each `as_of` of a span, in order, skipping the ones already done.

A date is done when a version of the model was trained on exactly its window's rows, with
the same configuration and code: `trained_version` finds it among all versions (not only the
champion, which is what "nothing new" compares with), so a second backfill of the same span,
or one that carries on after Ctrl-C, trains only the dates still missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from regress_core.config import RegressConfig
from regress_core.errors import ConfigError
from regress_core.pipeline.data_stages import ingest
from regress_core.pipeline.preflight import expected_model_name
from regress_core.pipeline.records import TableRef
from regress_core.pipeline.versioning import code_version
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry
from regress_core.registry.gate import Decision


@dataclass(frozen=True)
class BackfillRow:
    """What happened to one date of a backfill.

    Attributes:
        as_of: The run's instant.
        rows: Rows in its window (None when they could not be read).
        version: The version trained on them (new, or found from an earlier run).
        decision: In a few words: promoted, not promoted and why, already trained, or the error.
        failed: Whether this date failed (its error is the decision).
    """

    as_of: datetime
    rows: int | None
    version: str | None
    decision: str
    failed: bool = False


def require_window(config: RegressConfig) -> None:
    """Refuse a backfill of a configuration without a time window: every date would read the same rows.

    Raises:
        ConfigError: naming the settings to give.
    """
    if config.data.time_column is None:
        raise ConfigError(
            "a backfill needs a time window: set data.time_column and data.window (or data.start) in --config"
        )


def trained_version(config: RegressConfig, raw: TableRef, ws: Workspace) -> str | None:
    """The newest version of the model trained on exactly `raw`'s rows with this configuration and code, and gated.

    A version published by a run stopped before its gate decided does not count: the date runs
    again, its stages are cache hits, the publish finds that version, and the gate decides.

    Args:
        config: The run's resolved configuration.
        raw: The date's raw snapshot (the ingest stage's record).
        ws: The workspace.
    """
    model = Registry(ws.registry_dir).model(expected_model_name(config))
    wanted = config.model_dump(mode="json")
    code = code_version()
    for version in reversed(model.versions()):
        metadata = model.metadata(version)
        if (
            metadata.get("data", {}).get("raw_sha256") == raw.sha256
            and metadata.get("config") == wanted
            and metadata.get("code_version") == code
            and model.decisions(version)
        ):
            return version
    return None


def find_done(config: RegressConfig, as_of: datetime, ws: Workspace) -> tuple[TableRef, str | None]:
    """A date's window snapshot, and the version already trained on it (None: it still needs a run).

    Raises:
        DataError: the window cannot be read or holds no rows.
    """
    raw = ingest(config.data, ws, as_of=as_of)
    return raw, trained_version(config, raw, ws)


def describe_decision(decision: Decision) -> str:
    """A gate decision in a few words, for one row of a table."""
    if decision.champion == decision.version:
        return "already the champion"
    if decision.promote:
        return "promoted (first champion)" if decision.bootstrap else f"promoted over {decision.champion}"
    return f"not promoted: failed {', '.join(decision.failed)}"


def backfill_key(model: str, as_of: datetime) -> str:
    """The idempotency key of a backfill's flow run for one date: a repeat submits no second run."""
    return f"backfill/{model}/{as_of.isoformat()}"

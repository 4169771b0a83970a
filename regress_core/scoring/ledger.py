"""The scoring ledger: which day was scored into which output, with which model version and input.

One JSON line per completed job in `<workspace>/scoring/ledger.jsonl`, appended with a single
write and fsynced once the output is in place, so two jobs that finish at once each add their
whole line. A line cut short by a crash is skipped when the ledger is read. `--skip-scored`
asks it whether a day's output already holds what this job would write: the same output,
model, version, interval level and input bytes, and the output still there.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path

from fsspec.core import url_to_fs

from regress_core.fileio import append_line
from regress_core.objectstore import is_remote
from regress_core.registry.journal import utc_now
from regress_core.scoring.batches import inputs_sha256
from regress_core.scoring.options import check_output_path
from regress_core.scoring.results import ScoreSummary, ScoringSkipped
from regress_core.scoring.uploads import check_output_url

LEDGER_FOLDER = "scoring"  # inside the workspace; a managed folder, off limits to outputs
LEDGER_FILE = "ledger.jsonl"


@dataclass(frozen=True)
class LedgerEntry:
    """One scored day: where its predictions went and what made them."""

    as_of: str
    output: str
    model: str
    model_version: str
    input_sha256: str
    rows: int = 0
    scored_at: str = ""
    interval: float | None = None  # the level of the output's intervals; None without them

    def same_job(self, other: LedgerEntry) -> bool:
        """Whether `other` would write what this entry's job wrote (its time and row count aside)."""
        keys = ("as_of", "output", "model", "model_version", "input_sha256", "interval")
        return all(getattr(self, key) == getattr(other, key) for key in keys)


def output_key(output: str) -> str:
    """An output as the ledger names it: a resolved local path, or the URL without a trailing slash."""
    return check_output_url(output) if is_remote(output) else str(check_output_path(output))


def entry_for(summary: ScoreSummary, as_of: date) -> LedgerEntry:
    """The ledger entry of a completed job."""
    return LedgerEntry(
        as_of=as_of.isoformat(),
        output=summary.output_path,
        model=summary.model,
        model_version=summary.model_version,
        input_sha256=summary.input_sha256,
        rows=summary.rows_scored,
        scored_at=utc_now(),
        interval=summary.interval,
    )


def output_exists(output: str) -> bool:
    fs, path = url_to_fs(output)
    return bool(fs.exists(path))


class ScoringLedger:
    """The ledger in a workspace's `scoring` folder.

    Args:
        folder: The workspace's scoring folder (`<workspace>/scoring`).
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / LEDGER_FILE

    def entries(self) -> list[LedgerEntry]:
        """Every complete entry, oldest first; lines that do not parse (cut short by a crash) are skipped."""
        if not self.path.is_file():
            return []
        found = []
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                found.append(LedgerEntry(**json.loads(line)))
            except (ValueError, TypeError):
                continue
        return found

    def record(self, entry: LedgerEntry) -> None:
        """Append an entry (one write, fsynced), on a line of its own after a line cut short."""
        line = json.dumps(asdict(entry), sort_keys=True)
        append_line(self.path, line if self._ends_cleanly() else "\n" + line)

    def _ends_cleanly(self) -> bool:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(-1, 2)
                return handle.read(1) == b"\n"
        except OSError:  # no ledger yet, or an empty one
            return True

    def scored(self, job: LedgerEntry) -> LedgerEntry | None:
        """The entry of the same job, if it is the latest write to the job's output and the output is still there.

        An output rewritten since (by another version, or from other input) does not hold the job's predictions.
        """
        latest = next((entry for entry in reversed(self.entries()) if entry.output == job.output), None)
        return latest if latest is not None and latest.same_job(job) and output_exists(latest.output) else None

    def skip(self, job: LedgerEntry) -> ScoringSkipped | None:
        """What a job with `--skip-scored` reports when the ledger shows it done (see `scored`); else None."""
        done = self.scored(job)
        if done is None:
            return None
        return ScoringSkipped(
            as_of=job.as_of,
            reason="already-scored",
            message=(
                f"{job.as_of} is already scored with {job.model}@{job.model_version} from the same input into "
                f"{job.output} ({done.rows} rows at {done.scored_at}); nothing to do (--skip-scored)"
            ),
            model_version=job.model_version,
            rows=done.rows,
        )


@dataclass(frozen=True)
class LedgerCheck:
    """What `--skip-scored` found: the inputs' hash if it was needed (scoring does not compute it again), a skip."""

    input_sha256: str | None
    skipped: ScoringSkipped | None


def check_ledger(
    ledger: ScoringLedger,
    *,
    output: str,
    model: str,
    model_version: str,
    day: date,
    files: list[str],
    interval: float | None = None,
) -> LedgerCheck:
    """Ask the ledger whether this day is already scored into `output` with this version and these input bytes.

    `interval` (the level of the job's intervals, None without) must match the entry's as well.

    The inputs are hashed first only when the output's latest entry matches everything else; a day
    not scored yet costs one read of the ledger, and scoring hashes the inputs beside its work.
    """
    job = LedgerEntry(day.isoformat(), output_key(output), model, model_version, "", interval=interval)
    latest = next((entry for entry in reversed(ledger.entries()) if entry.output == job.output), None)
    if latest is None or not latest.same_job(replace(job, input_sha256=latest.input_sha256)):
        return LedgerCheck(None, None)
    job = replace(job, input_sha256=inputs_sha256(files))
    return LedgerCheck(job.input_sha256, ledger.skip(job))

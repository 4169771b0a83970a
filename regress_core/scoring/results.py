"""What a scoring run found: counts, drift and phase timings of each stretch, and the job's summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from regress_core.evaluation.drift import DriftCounter

if TYPE_CHECKING:  # a type only: the package module loads torch
    from regress_core.registry.package import ModelPackage

PHASES = ("read", "checks", "model", "write")


@dataclass
class PartResult:
    """Counts and drift statistics of one scored stretch of input."""

    rows_in: int = 0
    rows_scored: int = 0
    rows_rejected: int = 0
    unseen: dict[str, int] = field(default_factory=dict)
    drift: DriftCounter = field(default_factory=lambda: DriftCounter({}))
    rejected: list[pa.Table] = field(default_factory=list)
    precision: str = "float32"
    # Seconds spent reading input, checking rows (contract, drift, categories), in the model
    # (preprocessing and network) and writing output.
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))

    def add(self, other: PartResult) -> None:
        """Fold another part's counts and seconds into this one (its drift is merged separately)."""
        self.rows_in += other.rows_in
        self.rows_scored += other.rows_scored
        self.rows_rejected += other.rows_rejected
        self.rejected += other.rejected
        self.precision = other.precision
        for name, count in other.unseen.items():
            self.unseen[name] = self.unseen.get(name, 0) + count
        for phase, seconds in other.seconds.items():
            self.seconds[phase] = self.seconds.get(phase, 0.0) + seconds


@dataclass(frozen=True)
class ScoreSummary:
    """What a scoring job read and wrote, the model that scored it, input drift and timings."""

    output_path: str
    rejected_path: str | None
    files: int
    rows_in: int
    rows_scored: int
    rows_rejected: int
    model_version: str
    input_sha256: str
    psi: dict[str, float]
    seconds: float
    unseen_categories: dict[str, int] = field(default_factory=dict)
    model: str = ""
    precision: str = "float32"
    phase_seconds: dict[str, float] = field(default_factory=dict)
    # Whether the model's signature was checked: registry.signing's SIGNED, NOT_CHECKED or UNSIGNED.
    signature: str = ""
    interval: float | None = None  # the level of the `lower` and `upper` columns; None without them

    @property
    def rows_per_second(self) -> float:
        return self.rows_in / self.seconds if self.seconds > 0 else 0.0

    def drifted(self, threshold: float) -> dict[str, float]:
        """The features whose PSI exceeds `threshold`, with their PSI."""
        return {name: value for name, value in self.psi.items() if value > threshold}


def summarize(
    result: PartResult,
    *,
    output_path: Path,
    rejected: Path | None,
    files: list[str],
    package: ModelPackage,
    input_hash: str,
    started: float,
    interval: float | None = None,
) -> ScoreSummary:
    """The summary of a job whose parts add up to `result`, timed from `started` (`time.time()`)."""
    return ScoreSummary(
        output_path=str(output_path),
        rejected_path=str(rejected) if rejected else None,
        files=len(files),
        rows_in=result.rows_in,
        rows_scored=result.rows_scored,
        rows_rejected=result.rows_rejected,
        model_version=package.version,
        model=package.name,
        input_sha256=input_hash,
        psi=result.drift.psi(),
        seconds=time.time() - started,
        unseen_categories=result.unseen,
        precision=result.precision,
        phase_seconds={phase: round(value, 3) for phase, value in result.seconds.items()},
        signature=package.signature,
        interval=interval,
    )


@dataclass(frozen=True)
class ScoringSkipped:
    """A dated job that had nothing to do: its input has not arrived, or its day is already scored.

    Attributes:
        as_of: The job's day (ISO date).
        reason: `no-input` or `already-scored`.
        message: One line for a person.
        model_version: The version that scored the day (for `already-scored`).
        rows: The rows scored then (for `already-scored`).
    """

    as_of: str
    reason: str
    message: str
    model_version: str = ""
    rows: int = 0

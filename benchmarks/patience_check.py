"""When training should stop: patience rules replayed on validation curves of runs that never stop early.

    python benchmarks/patience_check.py                                  # every public table, split seeds 0 and 1
    python benchmarks/patience_check.py --tables abalone-4177 --seeds 0 --rules 20,10,5

Each public table (benchmarks/public_tables.py) is split as the suite splits it (test 0.2,
validation 0.1 of the rest, seeded by the split seed) and its test rows are set aside unread.
regress trains on the remaining rows as `regress train --data FILE` would (it splits off its
own validation and test rows), with `train.patience=0`: every network candidate runs all its
epochs and records, at every validation check, each model's validation loss (one model per
fold under cross-validation).

Early stopping decides only when training ends and which check's weights each model keeps;
the learning-rate schedule, the weight averaging and every step before the end do not depend
on it. Replaying a patience on the recorded losses with the rule training uses
(`regress_core.model.loop.BestChecks`) therefore gives the check at which a run with that
patience stops and each model's best check, as training on the same number of threads
would. A candidate's validation loss is then the mean of its models' best losses (fold sizes
differ by a row at most; selection pools the rows). A rule R waits max(R, R % of the checks)
checks without improvement, as `plan_budget` sizes the patience (R=10 is the default).

Prints, per table and seed, each rule's lowest validation RMSE among the network candidates
(in target standard deviations) and the seconds the network candidates' training loops take,
then each rule against the first: the runs whose RMSE moved by less than 5e-5, the mean and
largest change, and the share of the seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from regress_core.model.budget import patience_checks_for  # noqa: E402
from regress_core.model.loop import BestChecks, EpochRecord  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "patience_check.json"


@dataclass(frozen=True)
class Replay:
    """What a run with a given patience keeps of one candidate's full curve.

    Attributes:
        losses: Each model's best validation MSE (scaled target units; one model per fold).
        best_epochs: The epoch of each model's best check.
        stop_epoch: The epoch of the check that ends training.
        seconds: Training seconds up to that check.
    """

    losses: tuple[float, ...]
    best_epochs: tuple[int, ...]
    stop_epoch: int
    seconds: float

    @property
    def loss(self) -> float:
        """The candidate's validation MSE: the mean of its models' (folds hold equal shares of the rows, to a row)."""
        return statistics.fmean(self.losses)


def patience_checks(rule: int, records: Sequence[EpochRecord]) -> int:
    """Checks without improvement before stopping: max(rule, rule % of the checks), as `plan_budget` sizes it.

    `records` is a curve run to its last epoch: its first check comes after `eval_every` epochs.
    """
    eval_every, epochs = records[0].epoch, records[-1].epoch
    return patience_checks_for(epochs / eval_every, share=rule / 100, floor=rule)


def replay(records: Sequence[EpochRecord], patience: int) -> Replay:
    """Replay early stopping with `patience` checks on a curve recorded without it."""
    best = BestChecks()
    seconds, stop = 0.0, records[-1].epoch
    for record in records:
        seconds += record.seconds
        best.update(torch.tensor(record.model_losses or (record.val_loss,)), {}, record.epoch)
        if best.patience_ran_out(patience):
            stop = record.epoch
            break
    return Replay(tuple(best.losses.tolist()), tuple(best.epochs), stop, seconds)


def by_candidate(records: Sequence[EpochRecord]) -> dict[str, list[EpochRecord]]:
    curves: dict[str, list[EpochRecord]] = {}
    for record in records:
        curves.setdefault(record.candidate, []).append(record)
    return curves


def compare(curves: dict[str, list[EpochRecord]], rules: Sequence[int]) -> dict[str, dict[str, object]]:
    """Per rule (its number as text, as JSON keys are): lowest network validation RMSE, seconds, stops."""
    out: dict[str, dict[str, object]] = {}
    for rule in rules:
        replays = {name: replay(curve, patience_checks(rule, curve)) for name, curve in curves.items()}
        out[str(rule)] = {
            "val_rmse": math.sqrt(min(r.loss for r in replays.values())),
            "seconds": sum(r.seconds for r in replays.values()),
            "stops": {name: [max(r.best_epochs), r.stop_epoch] for name, r in replays.items()},
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tables", help="comma-separated table names (default: every public table)")
    parser.add_argument("--seeds", default="0,1", help="split seeds of the set-aside test rows (default 0,1)")
    parser.add_argument("--rules", default="20,10,5", help="patience rules, the first one the reference")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where to write the results")
    args = parser.parse_args()
    try:
        rules = [int(rule) for rule in args.rules.split(",")]
    except ValueError:
        parser.error(f"--rules takes whole numbers separated by commas, got {args.rules!r}")
    if min(rules) < 1:
        parser.error("a patience rule waits at least 1 check (0 would never stop)")

    import pandas as pd

    from benchmarks.public_tables import PUBLIC_TABLES
    from benchmarks.regress_runs import train_csv_and_score
    from regress_core.data.split import split_frame

    names = args.tables.split(",") if args.tables else None
    unknown = sorted(set(names or ()) - {t.name for t in PUBLIC_TABLES})
    if unknown:
        parser.error(f"no public table named {', '.join(unknown)}")
    tables = [t for t in PUBLIC_TABLES if names is None or t.name in names]
    rows = []
    with tempfile.TemporaryDirectory(prefix="regress-patience-") as tmp:
        for table in tables:
            for seed in [int(s) for s in args.seeds.split(",")]:
                parts = split_frame(table.load(), test_size=0.2, val_size=0.1, seed=seed)
                source = Path(tmp) / f"{table.name}-{seed}.csv"
                pd.concat([parts.train, parts.val]).to_csv(source, index=False)  # the test rows stay unread
                workdir = Path(tmp) / f"{table.name}-{seed}"
                workdir.mkdir()
                records: list[EpochRecord] = []
                result = train_csv_and_score(
                    source,
                    table.target,
                    workdir=workdir,
                    split_seed=seed,
                    train_seed=seed,
                    overrides=["train.patience=0"],
                    on_epoch=records.append,
                )
                # A candidate whose training diverged scores nothing (null) and is never chosen.
                trained = {c["name"] for c in result["candidates"] if c["val_rmse"] is not None}
                curves = {name: curve for name, curve in by_candidate(records).items() if name in trained}
                if not curves:
                    print(f"  {table.name} seed {seed}: no network candidate trained", flush=True)
                    continue
                rows.append({"table": table.name, "seed": seed, "rules": compare(curves, rules)})
                print_row(rows[-1], rules)
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps({"rules": rules, "rows": rows}, indent=1))
    print_summary(rows, rules)


def print_row(row: dict, rules: Sequence[int]) -> None:
    base = row["rules"][str(rules[0])]
    cells = []
    for rule in rules:
        result = row["rules"][str(rule)]
        stops = " ".join(f"{name}:{best}/{stop}" for name, (best, stop) in result["stops"].items())
        cells.append(
            f"R{rule} {result['val_rmse']:.4f} ({result['val_rmse'] - base['val_rmse']:+.4f}) "
            f"{result['seconds']:5.1f} s [{stops}]"
        )
    print(f"  {row['table']:<22} seed {row['seed']}  " + "  ".join(cells), flush=True)


def print_summary(rows: list[dict], rules: Sequence[int]) -> None:
    if not rows:
        return
    print(f"\n{len(rows)} runs, against R{rules[0]}: the best network's validation RMSE (scaled target), seconds")
    for rule in rules:
        first, this = str(rules[0]), str(rule)
        changes = [(r["rules"][this]["val_rmse"] - r["rules"][first]["val_rmse"], r) for r in rows]
        worst, worst_row = max(changes, key=lambda change: change[0])
        unchanged = sum(abs(change) < 5e-5 for change, _ in changes)
        seconds = [(r["rules"][this]["seconds"], r["rules"][first]["seconds"]) for r in rows]
        share = sum(s for s, _ in seconds) / max(1e-9, sum(f for _, f in seconds))
        mean = statistics.fmean(change for change, _ in changes)
        print(
            f"R{rule}: unchanged on {unchanged} of {len(rows)}, mean change {mean:+.5f}, "
            f"worst {worst:+.4f} ({worst_row['table']} seed {worst_row['seed']}); {share:.0%} of the seconds"
        )


if __name__ == "__main__":
    main()

"""`regress score`: run the batch scoring flow over new rows."""

from __future__ import annotations

import argparse
from typing import Any

from regress_cli.paths import absolute, absolute_home, add_home


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    from regress_core.config import ScoringConfig

    defaults = {name: field.default for name, field in ScoringConfig.model_fields.items()}
    score = commands.add_parser("score", help="score new rows with the champion or a given version", parents=[common])
    score.add_argument("--input", required=True, help="CSV/Parquet file, folder or glob; local path or fsspec URL")
    score.add_argument(
        "--output", required=True, help="predictions Parquet file to write; local path or object-storage URL"
    )
    score.add_argument(
        "--model",
        default="champion",
        help="NAME (its champion) or NAME@v0003; champion (default) or v0003 while the registry holds one model",
    )
    score.add_argument(
        "--keep", action="append", default=[], metavar="COLUMN", help="copy an input column (e.g. an id) to the output"
    )
    score.add_argument(
        "--on-invalid",
        choices=["fail", "drop"],
        default="fail",
        help="fail (default) writes nothing on bad rows; drop scores the valid ones",
    )
    score.add_argument(
        "--batch-rows", type=int, default=defaults["batch_rows"], help="rows per record batch (bounds memory)"
    )
    score.add_argument(
        "--drift-threshold",
        type=float,
        default=defaults["drift_threshold"],
        help="warn when a feature's PSI exceeds this",
    )
    score.add_argument(
        "--task-runner",
        choices=["local", "dask"],
        default="local",
        help="dask: one mapped task per file, or per range of row groups of a large Parquet file",
    )
    score.add_argument("--dask-address", help="Dask scheduler address (default: a local cluster)")
    score.add_argument(
        "--dask-workers", type=int, default=defaults["dask_workers"], help="workers of a local Dask cluster"
    )
    score.add_argument(
        "--partition-rows",
        type=int,
        default=defaults["partition_rows"],
        help="score a Parquet file in ranges of whole row groups of at least N rows (dask's partitions)",
    )
    score.add_argument(
        "--precision",
        choices=["auto", "float32", "bfloat16"],
        default=defaults["precision"],
        help="network precision: auto (bfloat16 where the hardware computes it natively), float32 or bfloat16",
    )
    add_home(score)


def run(args: argparse.Namespace) -> int:
    from regress_core.config import build_scoring_config

    params = build_scoring_config(
        {
            "input": absolute(args.input),
            "output": args.output,
            "model": args.model,
            "keep": args.keep,
            "on_invalid": args.on_invalid,
            "batch_rows": args.batch_rows,
            "drift_threshold": args.drift_threshold,
            "task_runner": args.task_runner,
            "dask_address": args.dask_address,
            "dask_workers": args.dask_workers,
            "partition_rows": args.partition_rows,
            "precision": args.precision,
            "home": absolute_home(args.home),
        }
    )
    from regress_core.pipeline.preflight import preflight_scoring
    from regress_core.registry.signing import signing_key
    from regress_core.scoring.batches import expand_inputs

    # Before a Prefect server is started or reached: an empty signing key, then the output and inputs.
    signing_key()
    preflight_scoring(params, expand_inputs(params.input))
    from flows.scoring import batch_scoring
    from regress_cli.environment import quiet_expected_errors
    from regress_cli.prefect_api import prefect_api
    from regress_cli.render import print_scoring_summary

    if not args.debug:
        quiet_expected_errors()
    with prefect_api():
        summary = batch_scoring(params=params)
    print_scoring_summary(summary, drift_threshold=args.drift_threshold)
    return 0

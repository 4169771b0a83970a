"""Cold versus warm run of the default training flow, in one process.

The cold run starts from an empty workspace; the warm run repeats it unchanged, so every
data and model stage is a cache hit. Prints both wall times, the warm/cold ratio and
where the warm run's time goes, and writes the figures as JSON.

    python benchmarks/pipeline.py [--preset default] [--set train.max_epochs=20] [--json PATH]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from regress_cli.environment import prepare_environment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--json", default="benchmarks/results/pipeline.json")
    args = parser.parse_args()
    prepare_environment()
    from prefect import flow

    from flows.training import training
    from regress_cli.prefect_api import without_idle_heartbeats
    from regress_core.config import build_config

    @flow
    def start_server() -> None:
        """Starts the ephemeral API before timing, so neither run pays for it."""

    started = time.perf_counter()
    start_server()
    server_s = time.perf_counter() - started
    home = tempfile.mkdtemp(prefix="regress-bench-")
    config = build_config(values={"preset": args.preset, "registry": {"home": home}}, overrides=args.overrides)
    runs = {}
    for label in ("cold", "warm"):
        started = time.perf_counter()
        with without_idle_heartbeats():  # as `regress train` runs its flow
            summary = training(config=config)
        runs[label] = {"wall_s": time.perf_counter() - started, **dataclasses.asdict(summary)}
    cold, warm = runs["cold"], runs["warm"]
    cached_s = sum(warm["stage_seconds"][name] for name in warm["cached"])
    uncached_s = sum(s for name, s in warm["stage_seconds"].items() if name not in warm["cached"])
    other_s = warm["wall_s"] - cached_s - uncached_s
    rows = [
        ("cold run (s)", cold["wall_s"]),
        ("warm run (s)", warm["wall_s"]),
        ("warm / cold", warm["wall_s"] / cold["wall_s"]),
        ("warm: cached stages (s)", cached_s),
        ("warm: stages that ran (s)", uncached_s),
        ("warm: flow overhead (s)", other_s),
        ("warm: share outside cached work", (uncached_s + other_s) / warm["wall_s"]),
        ("API server start, untimed (s)", server_s),
    ]
    print(
        f"\npreset {args.preset}, test RMSE {cold['metrics']['rmse']:.4f}; warm cache hits: {', '.join(warm['cached'])}"
    )
    print(f"warm stages that ran: {', '.join(n for n in warm['stage_seconds'] if n not in warm['cached'])}\n")
    print(f"{'measure':<34}{'value':>10}")
    for name, value in rows:
        print(f"{name:<34}{value:>10.3f}")
    print("\ncold stage seconds: " + ", ".join(f"{k} {v:.2f}" for k, v in cold["stage_seconds"].items()))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "rows": dict(rows),
                "cold_stage_seconds": cold["stage_seconds"],
                "warm_stage_seconds": warm["stage_seconds"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

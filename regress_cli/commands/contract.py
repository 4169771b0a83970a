"""`regress contract infer`: a starting data contract from a good file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from regress_cli.paths import absolute


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    contract = commands.add_parser("contract", help="data contracts", parents=[common])
    contract_commands = contract.add_subparsers(dest="contract_command", required=True)
    infer = contract_commands.add_parser("infer", help="write a starting contract from a good file", parents=[common])
    infer.add_argument("file", help="CSV or Parquet file")
    infer.add_argument("--target", required=True, help="target column")
    infer.add_argument("--output", help="where to write the YAML (default: print it)")


def run(args: argparse.Namespace) -> int:
    from regress_core.data.contract import dump_contract, infer_contract
    from regress_core.data.tables import read_table
    from regress_core.errors import ConfigError
    from regress_core.fileio import atomic_write_text

    if args.output and Path(args.output).is_dir():
        raise ConfigError(f"--output is a folder, expected a file path such as {Path(args.output) / 'contract.yaml'}")
    df = read_table(absolute(args.file))
    contract = infer_contract(df, target=args.target, name=Path(args.file).stem)
    text = dump_contract(contract)
    if args.output:
        atomic_write_text(args.output, text)
        print(
            f"wrote contract for {len(contract.columns)} columns to {args.output}; "
            f"edit it, then pass --contract {args.output}"
        )
    else:
        print(text, end="")
    return 0

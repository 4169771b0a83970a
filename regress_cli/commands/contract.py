"""`regress contract infer`: a starting data contract from a good file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from regress_cli.paths import absolute, absolute_home, add_home


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    contract = commands.add_parser("contract", help="data contracts", parents=[common])
    contract_commands = contract.add_subparsers(dest="contract_command", required=True)
    infer = contract_commands.add_parser("infer", help="write a starting contract from a good file", parents=[common])
    infer.add_argument("file", help="CSV or Parquet file")
    infer.add_argument("--target", required=True, help="target column")
    infer.add_argument("--output", help="where to write the YAML (default: print it)")
    add_home(infer)


def run(args: argparse.Namespace) -> int:
    from regress_core.data.contract import dump_contract, infer_contract
    from regress_core.data.tables import read_table
    from regress_core.errors import ConfigError
    from regress_core.fileio import atomic_write_text
    from regress_core.pipeline.off_limits import refuse_managed_output
    from regress_core.pipeline.workspace import Workspace

    if args.output and Path(args.output).is_dir():
        raise ConfigError(f"--output is a folder, expected a file path such as {Path(args.output) / 'contract.yaml'}")
    if args.output:
        refuse_managed_output(absolute(args.output) or args.output, Workspace.at(absolute_home(args.home)))
    df = read_table(str(absolute(args.file)))
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

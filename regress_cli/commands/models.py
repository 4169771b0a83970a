"""`regress models`: list, show, promote, roll back and audit registry versions."""

from __future__ import annotations

import argparse
from typing import Any

from regress_cli.paths import add_home


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    models = commands.add_parser("models", help="inspect the model registry", parents=[common])
    model_commands = models.add_subparsers(dest="models_command", required=True)
    listing = model_commands.add_parser("list", help="list versions and the champion", parents=[common])
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    show = model_commands.add_parser("show", help="show one version", parents=[common])
    show.add_argument("version", help="a version such as v0001, or champion")
    promote = model_commands.add_parser("promote", help="make a version the champion (audited)", parents=[common])
    promote.add_argument("version", help="a version such as v0003")
    promote.add_argument("--reason", required=True, help="why; recorded in the audit history")
    rollback = model_commands.add_parser("rollback", help="return to the previous champion (audited)", parents=[common])
    rollback.add_argument("--reason", required=True, help="why; recorded in the audit history")
    history = model_commands.add_parser("history", help="every champion change", parents=[common])
    history.add_argument("--json", action="store_true", help="machine-readable output")
    for parser in (listing, show, promote, rollback, history):
        add_home(parser)


def run(args: argparse.Namespace) -> int:
    from regress_cli import render
    from regress_core.pipeline.workspace import Workspace
    from regress_core.registry.package import describe_version, resolve_version
    from regress_core.registry.store import Registry

    if args.models_command in ("promote", "rollback"):
        return run_operation(args)
    registry = Registry(Workspace.at(args.home).registry_dir)
    if args.models_command == "history":
        render.print_history(registry.history(), as_json=args.json)
    elif args.models_command == "list":
        rows = [describe_version(registry, version) for version in registry.versions()]
        render.print_versions(rows, root=str(registry.root), as_json=args.json)
    else:
        version = resolve_version(registry, args.version)
        registry.verify(version)
        metadata = registry.metadata(version)
        metadata.pop("history", None)
        metadata["champion"] = registry.champion() == version
        metadata["decisions"] = registry.decisions(version)
        render.print_json(metadata)
    return 0


def run_operation(args: argparse.Namespace) -> int:
    """Promote or roll back through the Prefect flows, so the change is a flow run with its id in the audit."""
    from flows.operations import promote_model, rollback_model
    from regress_cli.environment import quiet_expected_errors
    from regress_cli.prefect_api import prefect_api
    from regress_cli.render import print_champion_change
    from regress_core.pipeline.workspace import Workspace
    from regress_core.registry.operations import check_reason
    from regress_core.registry.store import Registry

    check_reason(args.reason)
    home = str(Workspace.at(args.home).root)
    if args.models_command == "promote":
        Registry(Workspace.at(home).registry_dir).check_version_name(args.version)
    if not args.debug:
        quiet_expected_errors()
    with prefect_api():
        if args.models_command == "promote":
            entry = promote_model(version=args.version, reason=args.reason, home=home)
        else:
            entry = rollback_model(reason=args.reason, home=home)
    print_champion_change(entry)
    return 0

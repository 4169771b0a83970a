"""`regress models`: list, show, verify, promote, roll back and audit the registry's named models."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from regress_cli.paths import add_home

if TYPE_CHECKING:
    from regress_core.pipeline.workspace import Workspace
    from regress_core.registry.catalog import Registry
    from regress_core.registry.registered_model import RegisteredModel

REFERENCE_HELP = "NAME (its champion), NAME@v0003, or v0003/champion while the registry holds one model"


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    models = commands.add_parser("models", help="inspect the model registry", parents=[common])
    model_commands = models.add_subparsers(dest="models_command", required=True)
    listing = model_commands.add_parser("list", help="list models, their versions and champions", parents=[common])
    listing.add_argument("model", nargs="?", help="only this model")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    show = model_commands.add_parser(
        "show",
        help="print a version's model card (and save it beside the package)",
        description="Print a version's model card in Markdown and save it as cards/VERSION.md in the model's "
        "folder: its data, features, test metrics against the baselines and the champion, prediction intervals, "
        "gate checks, the flow run that made it and the caveats its run found.",
        parents=[common],
    )
    show.add_argument("reference", help=REFERENCE_HELP)
    show.add_argument("--json", action="store_true", help="the package metadata and gate decisions as JSON instead")
    promote = model_commands.add_parser(
        "promote", help="make a version its model's champion (audited)", parents=[common]
    )
    promote.add_argument("reference", help="NAME@v0003, or v0003 while the registry holds one model")
    promote.add_argument("--reason", required=True, help="why; recorded in the audit history")
    rollback = model_commands.add_parser(
        "rollback", help="return a model to its previous champion (audited)", parents=[common]
    )
    rollback.add_argument("model", nargs="?", help="the model (may be left out while the registry holds one)")
    rollback.add_argument("--reason", required=True, help="why; recorded in the audit history")
    history = model_commands.add_parser("history", help="every champion change", parents=[common])
    history.add_argument("model", nargs="?", help="only this model")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    repair = model_commands.add_parser(
        "repair", help="mend damaged registry files, keeping what is readable", parents=[common]
    )
    repair.add_argument("model", nargs="?", help="only this model (default: every model)")
    verify = model_commands.add_parser(
        "verify",
        help="check every version's files against its manifest, and its signature with REGRESS_SIGNING_KEY set",
        description="Check every version of every model (or of NAME, or one NAME@v0003): its manifest parses, "
        "every file matches its checksum, and, with REGRESS_SIGNING_KEY set, its signature. Prints one line per "
        "version; exits 4 when any fails.",
        parents=[common],
    )
    verify.add_argument("reference", nargs="?", help="NAME (every version) or NAME@v0003 (default: every model)")
    for parser in (listing, show, promote, rollback, history, repair, verify):
        add_home(parser)


def run(args: argparse.Namespace) -> int:
    from regress_cli import render
    from regress_core.errors import RegistryError
    from regress_core.pipeline.workspace import Workspace
    from regress_core.registry.catalog import Registry, check_model_name
    from regress_core.registry.verification import verify_package

    if args.models_command in ("promote", "rollback"):
        return run_operation(args)
    ws = Workspace.at(args.home)
    if args.models_command == "repair":
        return repair(ws, args.model)
    registry = Registry(ws.registry_dir)
    if args.models_command == "verify":
        return verify(registry, args.reference)
    if args.models_command in ("list", "history"):
        names = registry.models()
        if args.model:
            check_model_name(args.model)
            if args.model not in names:
                known = ", ".join(names) or "none yet"
                raise RegistryError(f"no model named {args.model!r} in {registry.root} (models: {known})")
            names = [args.model]
        models = [registry.model(name) for name in names]
        if args.models_command == "history":
            entries = [{"model": model.name, **entry} for model in models for entry in model.history()]
            render.print_history(sorted(entries, key=lambda entry: entry["time"]), as_json=args.json)
        else:
            from regress_core.registry.catalog import describe_version

            rows = [describe_version(model, version) for model in models for version in model.versions()]
            render.print_versions(rows, root=str(registry.root), as_json=args.json)
        return 0
    model, ref = registry.resolve(args.reference)
    _, signature = verify_package(model, ref.version)
    if not args.json:
        return show_card(model, ref.version, signature)
    metadata = model.metadata(ref.version)
    metadata.pop("history", None)
    metadata["model"] = model.name
    metadata["champion"] = model.champion() == ref.version
    metadata["signature"] = signature
    metadata["decisions"] = model.decisions(ref.version)
    warn_unchecked(str(ref), signature)
    render.print_json(metadata)
    return 0


def show_card(model: RegisteredModel, version: str, signature: str) -> int:
    """Print a version's model card and save it beside the package; a registry that cannot be written is a warning."""
    import os
    import sys

    from regress_cli.prefect_api import ui_base_url
    from regress_core.errors import StorageError
    from regress_core.registry.card import save_card, version_card

    card = version_card(model, version, signature=signature, ui_url=ui_base_url(os.environ))
    warn_unchecked(f"{model.name}@{version}", signature)
    print(card, end="")
    try:
        where = save_card(model, version, card)
    except StorageError as exc:
        print(f"regress: warning: the model card was not saved ({exc}); it is printed above only", file=sys.stderr)
    else:
        print(f"regress: model card saved to {where}", file=sys.stderr)
    return 0


def warn_unchecked(label: str, signature: str) -> None:
    """Say on stderr, once, that a version was used without its signature checked."""
    import sys

    from regress_core.registry.signing import unchecked_warning

    warning = unchecked_warning(label, signature)
    if warning:
        print(f"regress: warning: {warning}", file=sys.stderr)


def verify(registry: Registry, reference: str | None) -> int:
    """Verify every version of every model (or those `reference` names); any failure is exit 4, after all are listed."""
    import sys

    from regress_cli.render import plural, print_verification
    from regress_core.errors import RegistryError
    from regress_core.registry.signing import SIGNED, SIGNING_KEY_ENV
    from regress_core.registry.verification import verify_registry

    checks = verify_registry(registry, reference)
    print_verification(checks, root=str(registry.root))
    if any(check.ok and check.signature != SIGNED for check in checks):
        print(
            f"regress: warning: signatures were not checked ({SIGNING_KEY_ENV} is not set): the files match their "
            "manifests, but nothing proves who wrote them",
            file=sys.stderr,
        )
    failed = [check.label for check in checks if not check.ok]
    if failed:
        raise RegistryError(
            f"{len(failed)} of {plural(len(checks), 'version')} failed verification: {', '.join(failed)}"
        )
    return 0


def repair(ws: Workspace, model: str | None) -> int:
    """Mend damaged registry files of one model or all, under each model's promotion lock."""
    from contextlib import nullcontext

    from regress_cli.prefect_api import prefect_api
    from regress_core.registry.catalog import Registry, check_model_name
    from tasks.locks import promotion_locks

    with prefect_api(home=ws.home) if ws.url else nullcontext():  # object storage: the lock is the Prefect server's
        registry = Registry(ws.registry_dir, locks=promotion_locks(ws))
        for name in [check_model_name(model)] if model else registry.models():
            done = registry.model(name).repair()
            print(f"{name}: " + ("; ".join(done) if done else "nothing to repair"))
    return 0


def run_operation(args: argparse.Namespace) -> int:
    """Promote or roll back through the Prefect flows, so the change is a flow run with its id in the audit.

    What can be checked without Prefect is checked first (the reason, the signing key, the version
    or an earlier champion), so a mistake is reported in a moment, before a server is started or
    reached; the flow checks again under the model's lock.
    """
    from regress_cli.environment import quiet_expected_errors
    from regress_cli.prefect_api import prefect_api
    from regress_cli.render import print_champion_change
    from regress_core.errors import ConfigError
    from regress_core.pipeline.workspace import Workspace
    from regress_core.registry.catalog import Registry, parse_reference
    from regress_core.registry.operations import check_reason, previous_champion
    from regress_core.registry.signing import signing_key

    check_reason(args.reason)
    signing_key()  # an empty key is refused here, before a Prefect server is started or reached
    home = Workspace.at(args.home).home
    registry = Registry(Workspace.at(home).registry_dir)
    example = next(iter(registry.models()), "NAME")
    if args.models_command == "promote":
        name, version = parse_reference(args.reference)
        if version == "champion":
            raise ConfigError(f"promote needs a version, e.g. {name or example}@v0003")
        model = registry.model(name) if name else registry.only_model(hint=f"{example}@{version}")
        model.verify(version)
    else:
        model = registry.model(args.model) if args.model else registry.only_model(hint=f"rollback {example}")
        previous_champion(model)
    from flows.operations import promote_model, rollback_model  # Prefect: only once there is work for it

    if not args.debug:
        quiet_expected_errors()
    with prefect_api(home=home):
        if args.models_command == "promote":
            entry = promote_model(version=version, reason=args.reason, model=model.name, home=home)
        else:
            entry = rollback_model(reason=args.reason, model=model.name, home=home)
    print_champion_change(entry)
    return 0

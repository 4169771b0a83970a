"""Everything the `regress` command prints: tables, summaries and JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from regress_core.evaluation.metrics import METRIC_NAMES
from regress_core.evaluation.report import describe_budget, describe_selection, metrics_rows, sized_budget
from regress_core.registry.signing import describe_signature

if TYPE_CHECKING:  # types only: importing them would load the training and scoring stacks
    from regress_core.pipeline.backfill import BackfillRow
    from regress_core.pipeline.freshness import NothingNew
    from regress_core.pipeline.records import TrainingOutcome
    from regress_core.registry.verification import VersionCheck
    from regress_core.scoring.results import ScoreSummary


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def print_training_outcome(outcome: TrainingOutcome) -> None:
    print()
    if outcome.inferred_contract:
        print(f"inferred contract: {outcome.inferred_contract}")
        print(f"  saved as {outcome.contract_path}; edit it and pass --contract to change it")
    print(f"{'model':<20}" + "".join(f"{name.upper():>10}" for name in METRIC_NAMES))
    for name, values in metrics_rows({"metrics": outcome.metrics, "baselines": outcome.baselines}):
        print(f"{name:<20}" + "".join(f"{values[key]:>10.4f}" for key in METRIC_NAMES))
    if outcome.selection:
        print()
        print(f"model selection: {describe_selection(outcome.selection)}")
        budget = sized_budget(outcome.selection)
        if budget is not None:
            print(f"  sized to the table: {describe_budget(budget)}")
    print()
    print(f"decision: {outcome.decision.summary}")
    if outcome.as_of:
        print(f"  as of {outcome.as_of}")
    if outcome.window:
        print(f"  window {outcome.window['window']['text']}: {outcome.window['rows']} rows")
    for check in outcome.decision.checks:
        print(f"  [{'pass' if check.passed else 'FAIL'}] {check.text}")
    if outcome.decision.comparison is not None:
        comparison = outcome.decision.comparison
        print(
            f"  RMSE difference {comparison.difference:+.4f} (candidate minus champion) on {comparison.rows} rows, "
            f"{comparison.interval_text}"
        )
    print(f"cache hits: {', '.join(outcome.cached) or 'none'}")
    print(f"model {outcome.model}@{outcome.version} in {outcome.home}")


def print_nothing_new(nothing_new: NothingNew) -> None:
    print(nothing_new.summary)
    if nothing_new.as_of:
        print(f"  as of {nothing_new.as_of}; nothing published (--force trains anyway)")


def print_scoring_summary(summary: ScoreSummary, *, drift_threshold: float) -> None:
    print()
    print(
        f"scored {summary.rows_scored} of {summary.rows_in} rows from {summary.files} file(s) "
        f"with model {summary.model}@{summary.model_version} in {summary.seconds:.1f} s"
    )
    if summary.signature:
        print(f"model {summary.model}@{summary.model_version}: {describe_signature(summary.signature)}")
    if summary.rows_rejected:
        print(f"rejected {summary.rows_rejected} rows, with reasons, in {summary.rejected_path}")
    unseen = [f"{name} ({count} rows)" for name, count in summary.unseen_categories.items() if count]
    if unseen:
        print(f"categories not seen in training (encoded as none of the known ones): {', '.join(unseen)}")
    drifted = [f"{name} (PSI {value:.2f})" for name, value in summary.psi.items() if value > drift_threshold]
    if drifted:
        print(f"drift warning: {', '.join(drifted)}")
    print(describe_speed(summary))
    if summary.interval is not None:
        print(f"prediction intervals at level {summary.interval:g}: columns lower and upper")
    print(f"predictions: {summary.output_path}")


def describe_speed(summary: ScoreSummary) -> str:
    """One line: rows per second, and where the time went."""
    phases = summary.phase_seconds
    named = {"read": "read", "checks": "checks", "model": f"model ({summary.precision})", "write": "write"}
    split = ", ".join(f"{named[phase]} {phases[phase]:.1f} s" for phase in named if phase in phases)
    return f"{summary.rows_per_second:,.0f} rows/s over {summary.seconds:.1f} s: {split}"


def print_versions(rows: list[dict[str, Any]], *, root: str, as_json: bool) -> None:
    if as_json:
        print_json(rows)
        return
    if not rows:
        print(f"no models yet in {root}")
        return
    for model in dict.fromkeys(row["model"] for row in rows):
        versions = [row for row in rows if row["model"] == model]
        champion = next((row["version"] for row in versions if row["champion"]), None)
        print(f"model {model} (champion: {champion or 'none yet'})")
        print(f"{'':4}{'version':<9}{'created':<27}{'RMSE':>8}{'MAE':>8}{'R2':>8}  preset   source")
        for row in versions:
            m = row["metrics"]
            mark = "* " if row["champion"] else "  "
            print(
                f"  {mark}{row['version']:<9}{row['created_at']:<27}{m['rmse']:>8.4f}{m['mae']:>8.4f}{m['r2']:>8.4f}"
                f"  {row['preset'] or '':<8} {row['source']}"
            )
    print("* champion")


def print_history(entries: list[dict[str, Any]], *, as_json: bool) -> None:
    if as_json:
        print_json(entries)
        return
    for entry in entries:
        print(
            f"{entry['time']}  {entry['action']:<15} {entry.get('model', '')}@{entry['version']} "
            f"(was {entry['previous']})  {entry['reason']}"
        )


def print_verification(checks: list[VersionCheck], *, root: str) -> None:
    """One line per version (ok and its signature, or FAILED and why), then the counts."""
    if not checks:
        print(f"no models yet in {root}: nothing to verify")
        return
    width = max(len(check.label) for check in checks)
    for check in checks:
        if check.ok and check.signature:
            print(f"{check.label:<{width}}  ok      {describe_signature(check.signature)}")
        else:
            print(f"{check.label:<{width}}  FAILED  {check.problem}")
    models = len({check.model for check in checks})
    failed = sum(not check.ok for check in checks)
    print(
        f"verified {plural(len(checks), 'version')} of {plural(models, 'model')} in {root}: "
        f"{len(checks) - failed} ok, {failed} failed"
    )


def plural(count: int, noun: str) -> str:
    """`1 version`, `2 versions`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def print_champion_change(entry: dict[str, Any]) -> None:
    print(f"champion of {entry['model']} is now {entry['version']} (was {entry['previous']})")


def print_ui_started(state: dict[str, Any]) -> None:
    print(f"Prefect UI: {state['url']}")
    if state.get("report_url"):
        print(f"model reports (read-only): {state['report_url']}/")
    print(
        "deployments: training/nightly, batch_scoring/score, promote_model/promote, rollback_model/rollback; "
        f"logs in {state['logs']}"
    )
    notify = state.get("notify")
    print(
        "automations on model events: "
        + (f"notifying {notify}" if notify else "installed without a notification (add one: --notify BLOCK)")
    )
    print(f"to send command-line runs to this server: export PREFECT_API_URL={state['api_url']}")
    print("stop with: regress ui stop (or make ui-stop)")


def print_backfill(rows: list[BackfillRow], *, remaining: int = 0) -> None:
    """The closing table of a backfill: one line per date."""
    print()
    print(f"{'as of':<17} {'rows':>7}  {'version':<8} decision")
    for row in rows:
        rows_text = "-" if row.rows is None else str(row.rows)
        print(f"{row.as_of:%Y-%m-%d %H:%M} {rows_text:>7}  {row.version or '-':<8} {row.decision}")
    trained = sum(1 for row in rows if row.decision not in ("already trained", "nothing new") and not row.failed)
    failed = sum(1 for row in rows if row.failed)
    print(f"{plural(trained, 'date')} trained, {len(rows) - trained - failed} already done, {failed} failed")
    if remaining:
        print(f"stopped with {plural(remaining, 'date')} left; run the same command again to carry on")


def print_submitted(rows: list[dict[str, Any]]) -> None:
    """The flow runs a backfill submitted to a deployment, and which were already there."""
    print(f"{'as of':<17} {'flow run':<28} submitted")
    for row in rows:
        print(f"{row['as_of']:%Y-%m-%d %H:%M} {row['run']:<28} {'new' if row['new'] else 'already submitted'}")
    new = sum(1 for row in rows if row["new"])
    print(f"{plural(new, 'flow run')} submitted, {len(rows) - new} already there")

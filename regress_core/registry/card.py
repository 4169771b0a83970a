"""The model card: what a team deciding whether to trust a version reads, as Markdown.

`build_card` is a pure function of what the registry records about a version: its package
metadata (`package.json`), its gate decisions, whether it is the champion, its signature state,
its data contract and the Prefect UI's address. Every number is the recorded one, printed with
fixed decimals (`DECIMALS` for metrics, coverage and thresholds; counts as integers).

`save_card` writes the card beside the package, at `<model root>/cards/<version>.md`: not inside
`versions/<version>/`, which its manifest seals. It goes through the model's storage, so it is
one atomic replace in a local folder and one PUT in object storage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from regress_core.data.contract import DATE_PARTS_TEXT, ColumnSpec, DataContract, load_contract
from regress_core.errors import StorageError
from regress_core.evaluation.drift import DRIFT_PSI
from regress_core.registry.gate import drifted
from regress_core.registry.manifest import check_version_name
from regress_core.registry.registered_model import RegisteredModel
from regress_core.registry.signing import describe_signature

CARDS_DIR = "cards"
CONTRACT_FILE = "contract.yaml"  # package.CONTRACT, named here so reading a card does not import PyTorch
DECIMALS = 4
METRICS = (("mse", "MSE"), ("rmse", "RMSE"), ("mae", "MAE"), ("r2", "R2"))
MAX_DAYS_LISTED = 31
MAX_CATEGORIES_LISTED = 10
MISSING = "n/a"


def card_key(version: str) -> str:
    """Where a version's card lives, relative to its model's root."""
    return f"{CARDS_DIR}/{check_version_name(version)}.md"


def fixed(value: float | None, decimals: int = DECIMALS) -> str:
    """A recorded number with fixed decimals; `n/a` where none was recorded."""
    return MISSING if value is None else f"{float(value):.{decimals}f}"


def _cell(text: object) -> str:
    """Text made safe for one cell of a Markdown table."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[str]], *, numbers: tuple[int, ...] = ()) -> list[str]:
    """A Markdown table; the columns at `numbers` (indexes) hold numbers and are right-aligned."""
    align = ["---:" if i in numbers else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    return lines + ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]


def _metrics_table(rows: list[tuple[str, dict[str, float]]]) -> list[str]:
    header = ["model", *(label for _, label in METRICS)]
    cells = [[name, *(fixed(values.get(key)) for key, _ in METRICS)] for name, values in rows]
    return _table(header, cells, numbers=tuple(range(1, len(header))))


def build_card(
    metadata: dict[str, Any],
    *,
    decisions: list[dict[str, Any]],
    champion: bool,
    signature: str | None = None,
    contract: DataContract | None = None,
    ui_url: str | None = None,
) -> str:
    """The model card of one version, as Markdown.

    Args:
        metadata: The package's metadata (`RegisteredModel.metadata`: package.json with `version`).
        decisions: The version's gate decisions, oldest first (`RegisteredModel.decisions`).
        champion: Whether the version is its model's champion.
        signature: Its signature state (`signing.SIGNED`, `NOT_CHECKED` or `UNSIGNED`); None: not looked at.
        contract: The package's data contract, for the features' kinds; None: the kinds are not shown.
        ui_url: The Prefect UI's address (`http://host:4200`), to link the flow run; None: its id alone.

    Returns:
        The card: header, data, metrics, comparison with the champion, prediction intervals,
        gate checks and caveats.
    """
    latest = decisions[-1] if decisions else None
    compared = next((d for d in reversed(decisions) if d.get("comparison")), None)
    sections = [
        _header(metadata, champion=champion, signature=signature, ui_url=ui_url),
        _data_section(metadata, contract),
        _metrics_section(metadata, compared, latest),
        _intervals_section(metadata.get("intervals")),
        _gate_section(latest, len(decisions)),
        _caveats_section(metadata, latest, compared, contract),
    ]
    return "\n\n".join("\n".join(lines) for lines in sections) + "\n"


def _header(metadata: dict[str, Any], *, champion: bool, signature: str | None, ui_url: str | None) -> list[str]:
    spec = metadata.get("spec") or {}
    hidden = spec.get("hidden_sizes")
    architecture = str(spec.get("kind", MISSING)) + (f", hidden layers {hidden}" if hidden else "")
    lines = [
        f"# Model card: {metadata.get('model', MISSING)}@{metadata.get('version', MISSING)}",
        "",
        f"- champion: {'yes' if champion else 'no'}",
        f"- created: {metadata.get('created_at', MISSING)}",
    ]
    lines += [f"- as of: {metadata['as_of']}"] if metadata.get("as_of") else []
    return [
        *lines,
        f"- code version: {metadata.get('code_version', MISSING)}",
        f"- signature: {describe_signature(signature) if signature else 'not looked at'}",
        f"- architecture: {architecture}",
        f"- made by flow run: {_run_link(metadata.get('run'), ui_url)}",
    ]


def _run_link(run: str | None, ui_url: str | None) -> str:
    if not run:
        return "none recorded (trained outside a Prefect flow)"
    if not ui_url:
        return f"{run} (set PREFECT_UI_URL or PREFECT_API_URL to link it)"
    return f"[{run}]({ui_url.rstrip('/')}/runs/flow-run/{run})"


def _data_section(metadata: dict[str, Any], contract: DataContract | None) -> list[str]:
    data = metadata.get("data") or {}
    split = data.get("split_rows") or {}
    lines = ["## Data", "", f"- source: `{data.get('source', MISSING)}`"]
    lines += _window_lines(data.get("window"))
    lines += [
        f"- snapshot SHA-256: `{data.get('raw_sha256', MISSING)}`",
        f"- rows: {data.get('rows', MISSING)} (train {split.get('train', MISSING)}, "
        f"validation {split.get('val', MISSING)}, test {split.get('test', MISSING)})",
        f"- target: `{metadata.get('target', MISSING)}`",
    ]
    lines += _days_lines(data.get("window"))
    return [*lines, "", "### Features", "", *_features_table(metadata, contract)]


def _window_lines(window: dict[str, Any] | None) -> list[str]:
    if not window:
        return ["- window: none (every row of the source)"]
    bounds = window.get("window") or {}
    return [
        f"- window: {bounds.get('text', MISSING)}, as of {window.get('as_of', MISSING)}, "
        f"time column `{window.get('time_column', MISSING)}`",
        f"- rows left out of the window: {window.get('no_time_rows', 0)} without a time, "
        f"{window.get('future_rows', 0)} at or after as_of",
    ]


def _days_lines(window: dict[str, Any] | None) -> list[str]:
    """Rows per day of the window: a table for a short window, the extremes for a long one."""
    days: dict[str, int] = (window or {}).get("days") or {}
    if not days:
        return []
    if len(days) <= MAX_DAYS_LISTED:
        return [
            "",
            "Rows per day:",
            "",
            *_table(["day", "rows"], [[day, str(rows)] for day, rows in days.items()], numbers=(1,)),
        ]
    counts = list(days.values())
    empty = sum(1 for rows in counts if rows == 0)
    return [
        f"- rows per day over {len(days)} days: fewest {min(counts)}, most {max(counts)}, {empty} day(s) without rows"
    ]


def _features_table(metadata: dict[str, Any], contract: DataContract | None) -> list[str]:
    if contract is None:
        names = metadata.get("features") or []
        return _table(["feature", "kind", "details"], [[name, MISSING, "no contract in the package"] for name in names])
    columns = [column for column in contract.columns if column.name != contract.target]
    keys = set(metadata.get("group_keys") or [])
    return _table(["feature", "kind", "details"], [[c.name, c.kind, _column_details(c, keys)] for c in columns])


def _column_details(column: ColumnSpec, group_keys: set[str]) -> str:
    parts = []
    if column.kind == "identifier":
        parts.append("not a feature (a unique key carries no signal)")
    if column.name in group_keys:
        parts.append("a group key: also target-encoded")
    if column.kind == "datetime":
        parts.append(f"read {DATE_PARTS_TEXT}")
    if column.min is not None or column.max is not None:
        low, high = ("" if bound is None else bound for bound in (column.min, column.max))
        parts.append(f"range [{low}, {high}]")
    if column.categories:
        shown = ", ".join(column.categories[:MAX_CATEGORIES_LISTED])
        more = len(column.categories) - MAX_CATEGORIES_LISTED
        parts.append(f"{len(column.categories)} categories: {shown}" + (f" and {more} more" if more > 0 else ""))
    if column.nullable:
        parts.append("blanks allowed")
    return "; ".join(parts)


def _metrics_section(
    metadata: dict[str, Any], compared: dict[str, Any] | None, latest: dict[str, Any] | None
) -> list[str]:
    test_rows = ((metadata.get("data") or {}).get("split_rows") or {}).get("test", MISSING)
    rows = [("this model", metadata.get("metrics") or {})]
    rows += [(name.replace("_", " "), values) for name, values in (metadata.get("baselines") or {}).items()]
    lines = ["## Metrics on the test rows", "", f"{test_rows} test rows, in target units.", "", *_metrics_table(rows)]
    return [*lines, "", "### Against the champion", "", *_comparison_lines(metadata, compared, latest)]


def _comparison_lines(
    metadata: dict[str, Any], compared: dict[str, Any] | None, latest: dict[str, Any] | None
) -> list[str]:
    if compared is None:
        if latest is None:
            return ["No comparison with a champion: no gate decision is recorded for this version."]
        check = next((c for c in latest.get("checks", []) if c.get("name") == "champion"), None)
        said = f" The gate: {check['text']}." if check else ""
        return ["No comparison with a champion." + said]
    comparison = compared["comparison"]
    champion = compared.get("champion", MISSING)
    low, high = comparison["interval"]
    rows = [
        (f"candidate {metadata.get('version')}", comparison["candidate"]),
        (f"champion {champion}", comparison["champion"]),
    ]
    return [
        f"From the gate decision of {compared.get('time', MISSING)}, on {comparison['note']}:",
        "",
        *_metrics_table(rows),
        "",
        f"RMSE difference (candidate minus champion): {comparison['difference']:+.{DECIMALS}f}; "
        f"{comparison.get('level', 0.95):.0%} paired bootstrap interval [{low:+.{DECIMALS}f}, {high:+.{DECIMALS}f}] "
        f"from {comparison.get('samples', MISSING)} resamples of {comparison['rows']} rows.",
    ]


def _intervals_section(intervals: dict[str, Any] | None) -> list[str]:
    lines = ["## Prediction intervals", ""]
    if not intervals:
        return [*lines, "Not calibrated: this version was published before regress calibrated prediction intervals."]
    test = intervals.get("test") or {}
    lines += [
        f"- method: {intervals.get('method', MISSING)} split-conformal, calibrated on "
        f"{intervals.get('calibration_rows', MISSING)} validation rows",
        f"- level: {fixed(intervals.get('level'))}",
        f"- conformal quantile: {fixed(intervals.get('quantile'))}",
    ]
    if test.get("coverage") is None:
        return [
            *lines,
            f"- test coverage: not measured (too few validation rows for this level; {test.get('rows')} test rows)",
        ]
    return [
        *lines,
        f"- test coverage: {fixed(test['coverage'])} of {test.get('rows', MISSING)} test rows "
        f"(target {fixed(intervals.get('level'))})",
        f"- mean width on the test rows: {fixed(test.get('mean_width'))} (target units)",
    ]


def _gate_section(latest: dict[str, Any] | None, count: int) -> list[str]:
    lines = ["## Gate", ""]
    if latest is None:
        return [*lines, "No gate decision is recorded for this version."]
    when = f"decided {latest.get('time', MISSING)}" + (f", run as of {latest['as_of']}" if latest.get("as_of") else "")
    lines += [f"{latest.get('summary', MISSING)} ({when}).", ""]
    rows = [
        [
            check.get("name", MISSING),
            "pass" if check.get("passed") else "FAIL",
            fixed(check.get("value")),
            fixed(check.get("threshold")),
            check.get("text", ""),
        ]
        for check in latest.get("checks", [])
    ]
    lines += _table(["check", "result", "value", "threshold", "detail"], rows, numbers=(2, 3))
    if count > 1:
        lines += ["", f"The latest of {count} decisions; `regress models show --json` lists them all."]
    return lines


def _caveats_section(
    metadata: dict[str, Any],
    latest: dict[str, Any] | None,
    compared: dict[str, Any] | None,
    contract: DataContract | None,
) -> list[str]:
    found = caveats(metadata, latest, compared, contract)
    lines = ["## Caveats", "", *([f"- {item}" for item in found] or ["- none found"]), ""]
    return [*lines, _drift_line(metadata, latest)]


def _drift_line(metadata: dict[str, Any], latest: dict[str, Any] | None) -> str:
    """Drift of the gate's test rows against the champion's training rows, as the latest decision measured it."""
    latest = latest or {}
    measured = latest.get("drift")
    if measured:
        shifted = drifted(measured)
        drift = (
            f"Drift against champion {latest.get('champion')} (PSI of the test rows against its training rows, "
            f"{len(measured)} numeric feature(s)): "
            + (f"past {DRIFT_PSI} for {shifted}." if shifted else f"none past {DRIFT_PSI}.")
        )
    else:
        drift = "Drift against the champion: not measured (no champion when this version was gated)."
    profile = metadata.get("feature_profile")
    if profile:
        drift += (
            f" The package keeps its training rows' profile of {len(profile)} numeric feature(s), against which "
            "`regress score` measures the drift of scored rows."
        )
    return drift


def caveats(
    metadata: dict[str, Any],
    latest: dict[str, Any] | None,
    compared: dict[str, Any] | None,
    contract: DataContract | None,
) -> list[str]:
    """What a reader should know before trusting the version, in sentences (empty when nothing was found)."""
    data = metadata.get("data") or {}
    found = list((data.get("window") or {}).get("warnings") or [])
    if contract is not None:
        keys = [column.name for column in contract.columns if column.kind == "identifier"]
        if keys:
            found.append(f"column(s) {', '.join(keys)} left out of the features: the contract marks them identifiers")
    chosen = ((metadata.get("config") or {}).get("data") or {}).get("features")
    if chosen:
        found.append(f"trained on data.features only ({', '.join(chosen)}): the source's other columns were left out")
    found += _decision_caveats(latest, compared)
    shifted = drifted((latest or {}).get("drift"))
    if shifted:
        found.append(f"the data drifted since the champion's training rows (PSI past {DRIFT_PSI}): {shifted}")
    intervals = metadata.get("intervals")
    if intervals and (intervals.get("test") or {}).get("coverage") is None:
        found.append(
            f"interval coverage was not measured: {intervals.get('calibration_rows')} validation rows are too few"
        )
    return found


def _decision_caveats(latest: dict[str, Any] | None, compared: dict[str, Any] | None) -> list[str]:
    if latest is None:
        return ["no gate decision is recorded for this version"]
    found = []
    failed = [check for check in latest.get("checks", []) if not check.get("passed")]
    if failed:
        found.append(f"the gate refused it: failed {', '.join(str(check.get('name')) for check in failed)}")
    found += [f"interval coverage off target: {c.get('text')}" for c in failed if c.get("name") == "interval_coverage"]
    comparison = (compared or {}).get("comparison")
    if comparison:
        if not comparison.get("unseen_only", True):
            found.append(f"the champion comparison used rows a model had seen: {comparison['note']}")
        low, high = comparison["interval"]
        if low <= 0 <= high:
            found.append(
                "the interval of the RMSE difference spans zero: the difference from the champion may be noise"
            )
    return found


def version_card(model: RegisteredModel, version: str, *, signature: str | None, ui_url: str | None) -> str:
    """The card of one version, from what the registry records about it (see `build_card`)."""
    metadata = {**model.metadata(version), "model": model.name}
    contract_path = Path(model.version_dir(version)) / CONTRACT_FILE
    contract = load_contract(contract_path) if contract_path.is_file() else None
    return build_card(
        metadata,
        decisions=model.decisions(version),
        champion=model.champion() == version,
        signature=signature,
        contract=contract,
        ui_url=ui_url,
    )


def save_card(model: RegisteredModel, version: str, card: str) -> str:
    """Write a version's card beside its package in one step; return where it is, as a person finds it.

    Raises:
        StorageError: the registry cannot be written (read-only, full, refused by the object store).
    """
    key = card_key(version)
    try:
        model.storage.write_bytes(key, card.encode("utf-8"))
    except StorageError:
        raise
    except OSError as exc:
        raise StorageError(f"cannot write {model.storage.where(key)}: {exc.strerror or exc}") from exc
    return model.storage.where(key)

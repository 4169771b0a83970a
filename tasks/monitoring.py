"""Tasks of the monitoring flow: measure a window's error by day, then publish and alert."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from regress_core.config.sections import MonitorConfig
from regress_core.errors import RegistryError
from regress_core.monitoring.plots import plot_errors_by_day, png_markdown
from regress_core.monitoring.report import Lookup, MonitorReport, Reference, monitor_window
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry
from tasks.events import DEGRADED, emit_model_event


def monitor_as_of(as_of: datetime | None) -> datetime:
    """The run's instant: the one given, else the flow run's scheduled start (for a manual run, about now).

    As `tasks.training.run_as_of`, without importing the training stack into a monitoring run.
    """
    if as_of is not None:
        return as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    from prefect.runtime import flow_run

    scheduled = flow_run.scheduled_start_time
    return datetime.fromisoformat(scheduled.isoformat()).astimezone(UTC) if scheduled else datetime.now(UTC)


def registry_lookup(monitor: MonitorConfig) -> Lookup:
    """The version stamped on the predictions, else `monitor.model`'s champion, with its test RMSE and target."""
    registry = Registry(Workspace.at(monitor.home).registry_dir)

    def lookup(model: str | None, version: str | None) -> Reference:
        reference = monitor.model if version is None else (f"{model}@{version}" if model else version)
        entry, ref = registry.resolve(reference)
        metadata = entry.metadata(ref.version)
        rmse = metadata.get("metrics", {}).get("rmse")
        if not isinstance(rmse, int | float) or rmse <= 0:
            raise RegistryError(f"model version {ref} has no test RMSE to compare with in {registry.root}")
        return Reference(ref.model, ref.version, float(rmse), str(metadata["target"]))

    return lookup


@task(name="measure-window", cache_policy=NO_CACHE)
def measure_window(monitor: MonitorConfig, as_of: datetime) -> MonitorReport:
    """Join the window's predictions to the actuals that have arrived; error by day against the test RMSE."""
    report = monitor_window(
        predictions=monitor.predictions,
        actuals=monitor.actuals,
        key=monitor.key,
        target=monitor.target,
        as_of=as_of,
        window=monitor.window,
        tolerance=monitor.tolerance,
        lookup=registry_lookup(monitor),
        timezone=monitor.timezone,
    )
    get_run_logger().info(
        "%s@%s over %d day(s) to %s: RMSE %.4g on %d rows (test RMSE %.4g)",
        report.reference.model,
        report.reference.version,
        len(report.days),
        as_of.isoformat(),
        report.whole.rmse,
        report.whole.rows,
        report.reference.test_rmse,
    )
    return report


@task(name="publish-monitoring", cache_policy=NO_CACHE)
def publish_monitoring(report: MonitorReport) -> MonitorReport:
    """Warn, publish the table and the plot of error by day, and emit `regress.model.performance-degraded`."""
    logger = get_run_logger()
    for line in report.warnings():
        logger.warning(line)
    create_table_artifact(
        [{**day.as_json(), "test_rmse": report.reference.test_rmse} for day in report.days],
        key="monitoring-errors",
        description=f"Error by day of {report.reference.model}@{report.reference.version} against late actuals",
    )
    verdict = "**degraded**" if report.degraded else "within tolerance"
    create_markdown_artifact(
        f"RMSE {report.whole.rmse:.4g} on {report.whole.rows} rows over {report.window} to "
        f"{report.as_of:%Y-%m-%d}: {verdict} (test RMSE {report.reference.test_rmse:.4g}, "
        f"tolerance {report.tolerance:.0%}); {report.waiting} predictions wait for their actual."
        + report.describe_coverage()
        + "\n\n"
        + png_markdown(plot_errors_by_day(report), alt="error by day"),
        key="monitoring-plot",
        description="Error by day next to the version's test RMSE",
    )
    if report.degraded:
        emit_model_event(DEGRADED, report.reference.model, report.reference.version, report.event_payload())
    return report

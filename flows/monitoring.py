"""The monitoring flow: a window's predictions against the actuals that arrived, error by day."""

from __future__ import annotations

from datetime import datetime

from prefect import flow

from regress_core.config.sections import MonitorConfig
from regress_core.monitoring.report import MonitorReport
from tasks.monitoring import measure_window, monitor_as_of, publish_monitoring
from tasks.storage import apply_storage_block


@flow(name="monitoring", log_prints=True)
def monitoring(monitor: MonitorConfig, as_of: datetime | None = None) -> MonitorReport:
    """Measure the days before `as_of` (default: the run's scheduled start) and warn when the error has grown."""
    apply_storage_block()
    report = measure_window(monitor, monitor_as_of(as_of))
    return publish_monitoring(report)

"""Process settings that make a first Prefect run on a new machine clean and quiet."""

from __future__ import annotations

import json
import logging
import os
import sys

from regress_core.errors import RegressError, storage_error

DEFAULTS = {
    # A fresh PREFECT_HOME migrates its database first; that can outlast the default wait.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    # Analytics write to the same SQLite file and can log "database is locked".
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "False",
}


def prepare_environment() -> None:
    """Set defaults for Prefect and Great Expectations unless the user set them."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)


def expected_error(error: BaseException) -> bool:
    """Whether an error explains itself in one line: a full or read-only disk, a refusal of the Prefect API."""
    from regress_cli.prefect_api import api_refusal

    return storage_error(error) is not None or api_refusal(error) is not None


class HideExpectedTracebacks(logging.Filter):
    """Drop tracebacks of errors that already explain themselves in one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, RegressError) or (error is not None and expected_error(error)):
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_expected_errors() -> None:
    """Keep Prefect's logs to one line for bad input or configuration, here and in local Dask workers."""
    os.environ.setdefault("DASK_DISTRIBUTED__WORKER__PRELOAD", json.dumps(["regress_cli.dask_worker"]))
    if "dask" in sys.modules:
        sys.modules["dask"].config.refresh()
    # A copy: a thread importing libraries (regress_core.pipeline.preload) may add loggers meanwhile.
    names = [name for name in list(logging.root.manager.loggerDict) if name.startswith("prefect")]
    handlers = {handler for name in names for handler in logging.getLogger(name).handlers}
    for handler in handlers | set(logging.root.handlers):
        if not any(isinstance(f, HideExpectedTracebacks) for f in handler.filters):
            handler.addFilter(HideExpectedTracebacks())

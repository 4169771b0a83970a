"""Preloaded into the command's local Dask worker processes: errors that explain themselves in
one line are logged there without a traceback too, as in the command's own process."""

from __future__ import annotations

from typing import Any


def dask_setup(worker: Any) -> None:
    import prefect.logging.configuration

    from regress_cli.environment import quiet_expected_errors

    prefect.logging.configuration.setup_logging()  # the handlers the filter attaches to
    quiet_expected_errors()

"""Checks a run makes before it spends a second on work, each failing in one line.

Training: the workspace can be written and has room, the model's champion pointer and history
parse, the input is there and sniffs as CSV or Parquet (a dated source's files are checked as
they are read), a database source connects. Scoring: the output is not inside the workspace's managed folders and its
folder can be written, and every input sniffs as CSV or Parquet, so a binary file is refused
after reading its first bytes whatever its size.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from regress_core.config import RegressConfig, ScoringConfig
from regress_core.data.contract import load_contract
from regress_core.data.sources import default_contract, is_dated, source_kind, source_name
from regress_core.data.sql.urls import password_given
from regress_core.data.tables import is_url, sniff_table
from regress_core.errors import StorageError
from regress_core.pipeline.off_limits import refuse_managed_output
from regress_core.pipeline.workspace import Workspace
from regress_core.registry.catalog import Registry, model_name_for
from regress_core.registry.signing import signing_key

# What a run writes besides copies of its input: the validation report (about 4 MB), plots, a
# model package and Prefect's records.
BASE_BYTES = 8 << 20
# The raw snapshot, the splits and the scaled tables are each about the size of the input.
INPUT_COPIES = 3


def preflight_training(config: RegressConfig) -> None:
    """Refuse a training run that would fail late: an unwritable or full workspace, a damaged registry, bad input.

    Raises:
        ConfigError, StorageError, RegistryError, DataError: the first problem found, in one line.
    """
    signing_key()  # an empty key is refused now, not when the trained model is published
    ws = Workspace.at(config.registry.home)
    source = config.data.source
    # A dated source's files are found per day of the window when it is read; none is sniffed here.
    single_file = source_kind(source) == "file" and not is_dated(source)
    input_bytes = _size(source) if single_file and not is_url(source) else 0
    if ws.url is None:
        check_room(ws.root, BASE_BYTES + INPUT_COPIES * input_bytes, what="the workspace")
    Registry(ws.registry_dir).model(expected_model_name(config)).check_readable()
    if single_file:
        sniff_table(source)
    # A password kept in a Secret block is handed in by the flow; the command line checks without it.
    if source_kind(source) == "sql" and (config.data.secret_block is None or password_given()):
        from regress_core.data.sql.reading import check_connection  # sqlalchemy: only for a database source

        check_connection(source)


def preflight_scoring(params: ScoringConfig, inputs: list[str]) -> None:
    """Refuse a scoring job whose output is off limits or unwritable, or whose inputs are not tables.

    Args:
        params: The job's parameters.
        inputs: The files behind its input.
    """
    refuse_managed_output(params.output, Workspace.at(params.home))
    if not is_url(params.output):
        # The output's size is known only once it is written: a full disk is named where the write fails.
        check_room(Path(params.output).expanduser().resolve().parent, 0, what="--output's folder")
    for location in inputs:
        sniff_table(location)


def expected_model_name(config: RegressConfig) -> str:
    """The model a training run will publish: the configured one, else its contract's name (see `publish`)."""
    if config.registry.model:
        return config.registry.model
    data = config.data
    contract = load_contract(data.contract) if data.contract else default_contract(data.source)
    return model_name_for(contract.name if contract else source_name(data.source, data.table))


def check_room(folder: Path, need_bytes: int, *, what: str) -> None:
    """Refuse a folder (or, while it does not exist, the folder that will hold it) that cannot take `need_bytes`.

    Raises:
        StorageError: naming the folder, and the space free and needed.
    """
    existing = next((path for path in (folder, *folder.parents) if path.exists()), Path("/"))
    if not existing.is_dir():
        return  # a file in the way is named where the folder is made
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise StorageError(
            f"{what} {folder} cannot be written: {existing} is {_why(exc)}", errno=exc.errno, path=str(existing)
        ) from exc
    free = shutil.disk_usage(existing).free
    if free < need_bytes:
        raise StorageError(
            f"{what} {folder} has {free / 2**20:.0f} MB free and this run needs about {need_bytes / 2**20:.0f} MB: "
            "free some space or choose another folder",
            path=str(existing),
        )


def _why(exc: OSError) -> str:
    import errno

    if exc.errno == errno.EROFS:
        return "on a read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "not writable by this user"
    return exc.strerror or str(exc)


def _size(location: str) -> int:
    try:
        return os.path.getsize(location.removeprefix("file://"))
    except OSError:
        return 0  # a missing input is named by sniffing it

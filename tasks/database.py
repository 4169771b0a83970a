"""The database password kept in a Prefect Secret block (`data.secret_block`), handed to the core.

The value is read through the API when a flow starts and handed to `regress_core` in memory
(`use_password`); it is never a parameter, a record, a log line or an artifact.
"""

from __future__ import annotations

from typing import cast

from prefect.blocks.system import Secret

from regress_core.data.sql import use_password
from regress_core.errors import ConfigError


def apply_database_secret(block_name: str | None) -> None:
    """Read the password from the Secret block `block_name` (if any) and use it for this process's connections.

    Raises:
        ConfigError: the server has no Secret block of that name.
    """
    if not block_name:
        return
    try:
        secret = cast("Secret", Secret.load(block_name))  # called from sync code: the block itself, not a coroutine
    except ValueError:
        raise ConfigError(
            f"the Prefect server has no Secret block named {block_name!r} (data.secret_block): "
            f"create it with `prefect block create secret` or in the UI"
        ) from None
    use_password(str(secret.get()))

"""Runs pipeline tasks against one workspace and notes which were cache hits."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from prefect import Task, get_run_logger
from prefect.context import get_run_context
from prefect.settings import get_current_settings
from prefect.utilities.annotations import NotSet

from regress_core.pipeline.records import rehome
from regress_core.pipeline.shared_cache import fetch
from regress_core.pipeline.workspace import Workspace
from tasks.results import RecordSerializer, result_storage
from tasks.stage_locks import serialised


@dataclass
class StageRunner:
    """Calls each task with the workspace, persisting the records of cached stages inside it.

    A cached record is pointed at this workspace's folder (the workspace may have been copied
    or moved). For a workspace in object storage the record may come from another machine:
    the files it names are fetched from the bucket and checked. A stage whose cached files
    are still missing or changed runs again. Two runs on this machine that need the same
    stage output take turns (tasks/stage_locks.py): the second finds the first's record.
    """

    ws: Workspace
    refresh: bool = False
    cached: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def __call__(self, task: Task, *args: Any) -> Any:
        started = time.perf_counter()
        state = self._run(task, args, refresh=self.refresh)
        result = rehome(state.result(), self.ws.root)
        hit = state.name == "Cached"
        changed = fetch(result, self.ws) if hit else []
        if changed:
            get_run_logger().warning(
                "%s: cached file %s is missing or changed; running the stage again", task.name, changed[0]
            )
            state = self._run(task, args, refresh=True)
            result, hit = rehome(state.result(), self.ws.root), False
        self.seconds[task.name] = round(time.perf_counter() - started, 3)
        (self.cached if hit else self.ran).append(task.name)
        if hit:
            get_run_logger().info("%s: cache hit, reusing its stored output", task.name)
        return result

    def _run(self, task: Task, args: tuple[Any, ...], *, refresh: bool) -> Any:
        if task.cache_key_fn is None:
            bound = task.with_options(persist_result=False)
        else:
            bound = serialised(
                task.with_options(
                    result_storage=result_storage(self.ws),
                    result_serializer=RecordSerializer(),
                    refresh_cache=True if refresh else NotSet,
                ),
                self.ws.stage_dir("locks"),
            )
        return bound(*args, ws=self.ws, return_state=True)


def ui_base_url() -> str | None:
    """The Prefect UI's address, for links to runs; None while this process uses a temporary server of its own.

    Only a server named in the environment counts (PREFECT_UI_URL or PREFECT_API_URL, as a user's
    shell and the workers of `regress ui start` set them): a command's temporary server is gone
    once the command ends, and a link to it would lead nowhere.
    """
    if not (os.environ.get("PREFECT_UI_URL") or os.environ.get("PREFECT_API_URL")):
        return None
    url = get_current_settings().ui_url
    return str(url).rstrip("/") if url else None


def flow_run_id() -> str | None:
    """The id of the flow run the current task belongs to, for audit records."""
    run = getattr(get_run_context(), "task_run", None)
    return str(run.flow_run_id) if run is not None and run.flow_run_id else None

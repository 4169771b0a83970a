"""`regress backfill`: a version per date in order, none on a repeat, no duplicate flow runs of a deployment."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

from flows.training import training
from regress_cli.commands.backfill import train_dates
from regress_cli.main import main
from regress_core.config import build_config
from regress_core.data.simulate import Simulation, write_partitions
from tests.helpers import Command, model_registry, regress

ROWS_A_DAY = 10


def backfill_config(tmp_path, home: str) -> str:
    """bf.yaml: the linear preset on a 30-day window of simulated daily partitions (10 rows a day)."""
    folder = tmp_path / "sales"
    write_partitions(Simulation(date(2026, 10, 15), 40, rows_per_day=ROWS_A_DAY), folder)
    config = {
        "preset": "linear",
        "data": {
            "source": str(folder / "dt={date}" / "part.parquet"),
            "target": "MedHouseVal",
            "time_column": "ts",
            "window": "30d",
        },
        "registry": {"home": home},
    }
    path = tmp_path / "bf.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


def test_a_backfill_makes_a_version_per_date_and_a_repeat_makes_none(tmp_path, home):
    """Two backfills of the same span at once make one version per date, and a third makes none."""
    config = backfill_config(tmp_path, home)
    command = ["backfill", "--start", "2026-11-20", "--end", "2026-11-22", "--config", config]

    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda _: regress(*command), range(2)))
    for done in both:
        assert done.returncode == 0, done.stderr
    registry = model_registry(home)
    assert registry.versions() == ["v0001", "v0002", "v0003"]  # no date published twice
    as_ofs = [registry.metadata(version)["as_of"] for version in registry.versions()]
    assert [text[:10] for text in as_ofs] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    for done in both:
        assert f"2026-11-20 00:00 {30 * ROWS_A_DAY:>7}  v0001" in done.stdout
        assert "0 failed" in done.stdout
    # The split is logged by the run that made it; the other found it in the cache.
    assert any("by time (validation and test are the latest rows)" in done.stderr + done.stdout for done in both)
    decided = [registry.decisions(version)[-1]["as_of"][:10] for version in registry.versions()]
    assert decided == ["2026-11-20", "2026-11-21", "2026-11-22"]  # each decision records its run's as_of

    again = regress(*command)
    assert again.returncode == 0, again.stderr
    assert registry.versions() == ["v0001", "v0002", "v0003"]
    assert again.stdout.count("already trained") == 3
    assert "0 dates trained, 3 already done, 0 failed" in again.stdout


def test_a_date_whose_window_is_empty_is_reported_and_the_exit_code_is_its_error(tmp_path, home, capsys):
    config = build_config(path=backfill_config(tmp_path, home))
    assert train_dates(config, [datetime(2027, 3, 1, tzinfo=UTC)]) == 3
    out = capsys.readouterr().out
    assert "2027-03-01 00:00       -  -        error: no partition of" in out
    assert "0 dates trained, 0 already done, 1 failed" in out
    assert not (tmp_path / "home" / "registry").exists()


def test_ctrl_c_stops_with_the_table_so_far_and_the_next_run_carries_on(tmp_path, home):
    """Ctrl-C once the first version is published: the table so far, exit 130; the same command then finishes."""
    command = ["backfill", "--start", "2026-11-20", "--end", "2026-11-22", "--config", backfill_config(tmp_path, home)]
    running = Command(*command, home=home, served=True)
    versions = Path(home, "registry", "models", "sales", "versions")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not versions.is_dir() and running.process.poll() is None:
        time.sleep(0.05)
    running.process.send_signal(signal.SIGINT)
    assert running.process.wait(timeout=120) == 130, "".join(running.err)[-2000:]
    time.sleep(0.5)  # the reader threads take the last lines
    assert "left; run the same command again to carry on" in "".join(running.out)
    assert [line.strip() for line in running.err if line.startswith("regress:")] == ["regress: interrupted"]

    again = regress(*command)
    assert again.returncode == 0, again.stderr
    registry = model_registry(home)
    assert registry.versions() == ["v0001", "v0002", "v0003"]
    assert [registry.metadata(v)["as_of"][:10] for v in registry.versions()] == [
        "2026-11-20",
        "2026-11-21",
        "2026-11-22",
    ]
    assert all(registry.decisions(version) for version in registry.versions())  # each one gated
    assert "0 failed" in again.stdout


def deployment_runs(deployment_id: uuid.UUID) -> list:
    async def read():
        async with get_client() as client:
            return await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
            )

    return asyncio.run(read())


def create_deployment(name: str, config: dict) -> uuid.UUID:
    """A deployment of the training flow on the session's server; no worker runs it, so its runs stay scheduled."""

    async def create():
        async with get_client() as client:
            flow_id = await client.create_flow_from_name(training.name)
            return await client.create_deployment(
                flow_id=flow_id, name=name, entrypoint="flows/training.py:training", parameters={"config": config}
            )

    return asyncio.run(create())


def test_a_backfill_through_a_deployment_submits_each_date_once(tmp_path, home, capsys):
    with open(backfill_config(tmp_path, home)) as file:
        config = yaml.safe_load(file)
    name = f"backfill-{uuid.uuid4().hex[:8]}"
    deployment_id = create_deployment(name, config)
    command = ["backfill", "--start", "2026-11-20", "--end", "2026-11-22", "--deployment", f"training/{name}"]

    assert main(command) == 0
    assert "3 flow runs submitted, 0 already there" in capsys.readouterr().out
    assert main(command) == 0
    assert "0 flow runs submitted, 3 already there" in capsys.readouterr().out
    runs = deployment_runs(deployment_id)
    assert sorted(run.idempotency_key for run in runs) == [
        f"backfill/sales/2026-11-{day}T00:00:00+00:00" for day in (20, 21, 22)
    ]
    assert sorted(str(run.parameters["as_of"])[:10] for run in runs) == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert not (tmp_path / "home").exists()  # submitted to the deployment, not trained here


def test_a_deployment_the_server_does_not_have_is_one_line(capsys):
    command = ["backfill", "--start", "2026-11-20", "--end", "2026-11-21", "--deployment", "no-such-deployment"]
    assert main(command) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("regress: error: --deployment: no deployment training/no-such-deployment on the Prefect")
    assert "\n" not in err


def test_bad_dates_and_steps_are_one_line_each(capsys):
    cases = {
        ("--start", "2026-11-22", "--end", "2026-11-20"): "--end 2026-11-20 is before --start 2026-11-22",
        (
            "--start",
            "2026-11-20",
            "--end",
            "2026-11-22",
            "--every",
            "daily",
        ): "--every 'daily' is not a step such as 1d",
        ("--start", "20/11/2026", "--end", "2026-11-22"): "--start: '20/11/2026' is not a date",
    }
    for args, message in cases.items():
        assert main(["backfill", *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"regress: error: {message}"), err
        assert err.count("\n") == 1


def test_a_backfill_without_a_time_window_is_refused(capsys):
    assert main(["backfill", "--start", "2026-11-20", "--end", "2026-11-22", "--set", "data.source=linear"]) == 2
    assert "regress: error: a backfill needs a time window: set data.time_column" in capsys.readouterr().err

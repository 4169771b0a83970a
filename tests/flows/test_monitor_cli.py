"""`regress monitor` as a user runs it: dated predictions against late actuals, the degraded event, bad input."""

import asyncio
import json
import math
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from flows.monitoring import monitoring
from regress_core.config.sections import MonitorConfig
from regress_core.errors import DataError
from tests.helpers import model_events, model_registry, one_error_line, regress, regress_here

DAYS = ("2026-11-29", "2026-11-30", "2026-12-01")


def write_day(root, kind: str, day: str, frame: pd.DataFrame) -> None:
    folder = root / kind / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / f"{kind}.parquet", index=False)


@pytest.fixture
def loop(tmp_path, trained_home):
    """Three days of 60 stamped predictions each, off by about 3 test RMSEs, and actuals for 50 of them."""
    registry = model_registry(trained_home)
    version = registry.champion()
    test_rmse = registry.metadata(version)["metrics"]["rmse"]
    rng = np.random.default_rng(0)
    for index, day in enumerate(DAYS):
        truth = rng.normal(10, 3, 60)
        ids = [f"h{index}-{row}" for row in range(60)]
        predictions = pd.DataFrame({"house_id": ids, "prediction": truth + rng.normal(0, 3 * test_rmse, 60)})
        predictions["model"], predictions["model_version"], predictions["as_of"] = registry.name, version, day
        write_day(tmp_path, "predictions", day, predictions)
        write_day(tmp_path, "actuals", day, pd.DataFrame({"house_id": ids[:50], "y": truth[:50]}))
    return tmp_path, registry.name, version


def monitor_args(root, *extra: str) -> list[str]:
    return [
        "monitor",
        "--predictions",
        str(root / "predictions/dt={date}/predictions.parquet"),
        "--actuals",
        str(root / "actuals/dt={date}/actuals.parquet"),
        "--key",
        "house_id",
        "--window",
        "3d",
        "--as-of",
        "2026-12-01",
        *extra,
    ]


async def latest_artifacts() -> list:
    async with get_client() as client:
        return [
            (
                await client.read_artifacts(
                    artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
                    sort=ArtifactSort.CREATED_DESC,
                    limit=1,
                )
            )[0]
            for key in ("monitoring-errors", "monitoring-plot")
        ]


def test_monitor_gives_each_days_error_as_pandas_and_reports_a_degraded_model(loop, trained_home):
    root, model, version = loop
    done = regress(*monitor_args(root, "--json"), home=trained_home)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [day["date"] for day in report["days"]] == list(DAYS)
    for day in report["days"]:
        predictions = pd.read_parquet(root / f"predictions/dt={day['date']}/predictions.parquet")
        actuals = pd.read_parquet(root / f"actuals/dt={day['date']}/actuals.parquet")
        both = predictions.merge(actuals, on="house_id")
        assert day["rmse"] == pytest.approx(math.sqrt(((both["y"] - both["prediction"]) ** 2).mean()), rel=1e-12)
        assert (day["rows"], day["waiting"], day["model_version"]) == (50, 10, version)
    assert (report["model"], report["version"], report["degraded"]) == (model, version, True)
    assert report["as_of"] == "2026-12-01T00:00:00+00:00"
    assert "regress: warning: 30 predictions are still waiting for their actual" in done.stderr
    assert f"regress: warning: {model}@{version} degraded: RMSE" in done.stderr

    table, plot = asyncio.run(latest_artifacts())
    assert [row["date"] for row in json.loads(table.data)] == list(DAYS)
    assert "data:image/png;base64," in plot.data

    deadline = time.monotonic() + 30
    degraded = ["regress.model.performance-degraded"]
    while not (events := model_events(model, names=degraded)) and time.monotonic() < deadline:
        time.sleep(1)
    event = next(event for event in events if event.payload["as_of"] == "2026-12-01T00:00:00+00:00")
    assert event.payload["version"] == version
    assert event.payload["window_error"]["rows"] == 150
    assert event.payload["change"] > 0.2


def test_bad_actuals_fail_the_flow_with_the_message_a_person_reads(loop, trained_home):
    root, _, _ = loop
    day = root / "actuals/dt=2026-11-30/actuals.parquet"
    actuals = pd.read_parquet(day)
    pd.concat([actuals, actuals.tail(2)]).to_parquet(day, index=False)
    monitor = MonitorConfig(
        predictions=str(root / "predictions/dt={date}/predictions.parquet"),
        actuals=str(root / "actuals/dt={date}/actuals.parquet"),
        key="house_id",
        window="3d",
        home=trained_home,
    )
    with pytest.raises(DataError, match=r"^key 'house_id' repeats in the actuals \(h1-48, h1-49\): each row needs"):
        monitoring(monitor=monitor, as_of=datetime(2026, 12, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--window", "12h"], "invalid configuration: window: window '12h' is not whole days"),
        (["--tolerance", "inf"], "invalid configuration: tolerance: Input should be a finite number"),
        (["--as-of", "soon"], "'soon' is not a date or an ISO date-time"),
    ],
)
def test_bad_settings_are_refused_before_anything_runs(loop, trained_home, extra, message):
    root, _, _ = loop
    done = regress_here(*monitor_args(root, *extra), home=trained_home)
    one_error_line(done, 2, message)

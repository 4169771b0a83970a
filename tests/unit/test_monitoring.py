"""Predictions joined to late actuals, and error by day equal to pandas' own figures on the same join."""

import math
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from regress_core.config.sections import MonitorConfig
from regress_core.errors import ConfigError, DataError
from regress_core.monitoring import (
    Reference,
    degraded,
    errors_by_day,
    join_actuals,
    monitor_window,
    monitored_days,
    plot_errors_by_day,
    png_markdown,
    window_error,
)


def scored(day: int, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"id": [f"d{day}-{i}" for i in range(n)], "prediction": rng.normal(10, 2, n)})


def arrived(predictions: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = predictions.sample(frac=fraction, random_state=seed)
    return pd.DataFrame({"id": rows["id"], "price": rows["prediction"] + rng.normal(0, 1, len(rows))})


def test_the_join_keeps_every_prediction_and_marks_those_still_waiting():
    predictions = scored(1, 10, seed=0)
    actuals = arrived(predictions, 0.6, seed=1)
    joined = join_actuals(predictions, actuals, key="id", target="price")
    assert joined["id"].tolist() == predictions["id"].tolist()
    assert joined["actual"].notna().sum() == 6
    by_id = actuals.set_index("id")["price"]
    present = joined.dropna(subset=["actual"])
    assert (present["actual"].to_numpy() == by_id.loc[present["id"]].to_numpy()).all()


def test_each_days_error_equals_the_one_computed_with_pandas():
    days = {}
    for day in (3, 1, 2):
        predictions = scored(day, 40, seed=day)
        days[date(2026, 11, day)] = join_actuals(predictions, arrived(predictions, 0.75, day), key="id", target="price")
    errors = errors_by_day(days)
    assert [error.date for error in errors] == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    for error in errors:
        frame = days[error.date].dropna(subset=["actual"])
        residual = frame["actual"] - frame["prediction"]
        assert error.rows == len(frame) == 30
        assert error.waiting == 10
        assert error.rmse == pytest.approx(math.sqrt((residual**2).mean()), rel=1e-12)
        assert error.mae == pytest.approx(residual.abs().mean(), rel=1e-12)
        r2 = 1 - (residual**2).sum() / ((frame["actual"] - frame["actual"].mean()) ** 2).sum()
        assert error.r2 == pytest.approx(r2, rel=1e-12)
    whole = window_error(days)
    everything = pd.concat(days.values()).dropna(subset=["actual"])
    assert whole.rows == 90
    assert whole.rmse == pytest.approx(math.sqrt(((everything["actual"] - everything["prediction"]) ** 2).mean()))


def test_a_day_with_no_actuals_yet_has_no_error_and_says_how_many_wait():
    predictions = scored(1, 5, seed=0)
    joined = join_actuals(predictions, pd.DataFrame({"id": ["elsewhere"], "price": [1.0]}), key="id", target="price")
    (error,) = errors_by_day({date(2026, 11, 1): joined})
    assert (error.rows, error.waiting) == (0, 5)
    assert math.isnan(error.rmse)
    assert error.as_json() == {"date": "2026-11-01", "rows": 0, "waiting": 5, "rmse": None, "mae": None, "r2": None}
    assert window_error({}) is None


def test_repeated_keys_and_missing_columns_are_one_line_errors():
    predictions = scored(1, 3, seed=0)
    twice = pd.DataFrame({"id": ["d1-0", "d1-0"], "price": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"key 'id' repeats in the actuals \(d1-0\)"):
        join_actuals(predictions, twice, key="id", target="price")
    with pytest.raises(DataError, match=r"the actuals have no column 'price'"):
        join_actuals(predictions, pd.DataFrame({"id": ["d1-0"]}), key="id", target="price")
    with pytest.raises(DataError, match=r"the predictions have no column 'order'"):
        join_actuals(predictions, twice, key="order", target="price")


def test_degraded_is_worse_than_the_test_error_by_more_than_the_tolerance():
    assert degraded(1.21, 1.0, tolerance=0.2)
    assert not degraded(1.2, 1.0, tolerance=0.2)
    assert not degraded(math.nan, 1.0, tolerance=0.2)


# A monitoring run over dated files: the window's days, the reference version, the bad inputs.

REFERENCE = Reference("houses", "v0002", 1.0, "price")


def lookup_for(seen: list) -> object:
    def lookup(model, version):
        seen.append((model, version))
        return REFERENCE

    return lookup


def write_day(root, kind: str, day: str, frame: pd.DataFrame) -> None:
    folder = root / kind / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / "part.parquet", index=False)


@pytest.fixture
def dated(tmp_path):
    """Three days of 50 predictions (stamped with the version), and actuals for 40 of each day's rows."""
    for offset, day in enumerate(("2026-11-29", "2026-11-30", "2026-12-01")):
        predictions = scored(offset, 50, seed=offset).rename(columns={"id": "house_id"})
        predictions["model"], predictions["model_version"] = "houses", "v0002"
        write_day(tmp_path, "predictions", day, predictions)
        truth = arrived(predictions.rename(columns={"house_id": "id"}), 0.8, seed=offset)
        write_day(tmp_path, "actuals", day, truth.rename(columns={"id": "house_id"}))
    return tmp_path


def run_monitor(root, *, actuals: str = "actuals/dt={date}/part.parquet", **options):
    values = {
        "predictions": str(root / "predictions/dt={date}/part.parquet"),
        "actuals": str(root / actuals),
        "key": "house_id",
        "target": None,
        "as_of": datetime(2026, 12, 1, 6, tzinfo=UTC),
        "window": "3d",
        "tolerance": 0.2,
        "lookup": lookup_for([]),
    }
    return monitor_window(**{**values, **options})


def test_the_window_is_whole_days_ending_with_the_as_of_day():
    as_of = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert monitored_days(as_of, "3d") == [date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1)]
    assert monitored_days(as_of, "1d", timezone="Europe/Berlin") == [date(2026, 12, 2)]
    assert len(monitored_days(as_of, "2w")) == 14
    with pytest.raises(ConfigError, match=r"monitoring window '12h' is not whole days"):
        monitored_days(as_of, "12h")


def test_a_monitored_window_equals_pandas_day_by_day_and_names_the_stamped_version(dated):
    seen: list = []
    report = run_monitor(dated, lookup=lookup_for(seen))
    assert seen == [("houses", "v0002")]
    document = report.as_json()
    assert [day["date"] for day in document["days"]] == ["2026-11-29", "2026-11-30", "2026-12-01"]
    for day in document["days"]:
        predictions = pd.read_parquet(dated / f"predictions/dt={day['date']}/part.parquet")
        actuals = pd.read_parquet(dated / f"actuals/dt={day['date']}/part.parquet")
        both = predictions.merge(actuals, on="house_id")
        assert (day["rows"], day["waiting"], day["model_version"]) == (40, 10, "v0002")
        assert day["rmse"] == pytest.approx(math.sqrt(((both["price"] - both["prediction"]) ** 2).mean()), rel=1e-12)
    assert document["window_error"]["rows"] == 120
    assert document["missing_days"] == []
    assert document["unmatched_actuals"] == 0
    assert report.warnings() == ["30 predictions are still waiting for their actual"]


def test_a_window_worse_than_the_test_error_is_degraded_with_its_figures(dated):
    worse = run_monitor(dated, lookup=lambda model, version: Reference("houses", "v0002", 0.5, "price"))
    assert worse.degraded
    assert worse.change == pytest.approx(worse.whole.rmse / 0.5 - 1)
    payload = worse.event_payload()
    assert (payload["model"], payload["version"], payload["as_of"]) == ("houses", "v0002", "2026-12-01T06:00:00+00:00")
    assert payload["degraded"] is True
    assert "houses@v0002 degraded: RMSE" in payload["summary"]
    assert not run_monitor(dated).degraded  # the noise is about 1, the test RMSE 1.0


def test_missing_days_unmatched_actuals_and_one_table_of_actuals(dated):
    (dated / "predictions/dt=2026-11-30/part.parquet").unlink()
    extra = pd.DataFrame({"house_id": ["elsewhere-1", "elsewhere-2"], "price": [1.0, 2.0]})
    everything = pd.concat(
        [pd.read_parquet(path) for path in sorted(dated.glob("actuals/*/part.parquet"))] + [extra], ignore_index=True
    )
    everything.to_csv(dated / "all-actuals.csv", index=False)
    report = run_monitor(dated, actuals="all-actuals.csv")
    assert [day.date for day in report.days] == [date(2026, 11, 29), date(2026, 12, 1)]
    assert report.missing_days == [date(2026, 11, 30)]
    assert report.unmatched == 40 + 2  # the missing day's actuals and two strangers
    assert report.warnings()[0] == "no predictions for 2026-11-30 (nothing to measure that day)"
    assert "42 actuals match no prediction of the window" in report.warnings()[2]


def test_monitoring_refuses_what_it_cannot_measure_with_one_line(dated):
    with pytest.raises(DataError, match=r"no predictions for any day of the window \(2026-11-20 to 2026-11-22\)"):
        run_monitor(dated, as_of=datetime(2026, 11, 22, tzinfo=UTC))
    with pytest.raises(DataError, match=r"no actuals at .*nowhere/dt=\{date\}.* for any day of the window"):
        run_monitor(dated, actuals="nowhere/dt={date}/part.parquet")
    with pytest.raises(DataError, match=r"the predictions have no column 'order_id'"):
        run_monitor(dated, key="order_id")
    day = dated / "actuals/dt=2026-11-30/part.parquet"
    actuals = pd.read_parquet(day)
    pd.concat([actuals, actuals.head(1)]).to_parquet(day, index=False)
    with pytest.raises(DataError, match=r"key 'house_id' repeats in the actuals \(d1-"):
        run_monitor(dated)
    actuals.assign(price=[f"{value:.2f} USD" for value in actuals["price"]]).to_parquet(day, index=False)
    with pytest.raises(DataError, match=r"the actuals' column 'price' holds text such as '.* USD', not numbers"):
        run_monitor(dated)
    actuals.assign(house_id=range(len(actuals))).to_parquet(day, index=False)
    with pytest.raises(DataError, match=r"key 'house_id' holds text in the predictions and numbers in the actuals"):
        run_monitor(dated)
    actuals.head(0).to_parquet(day, index=False)
    with pytest.raises(DataError, match=r"actuals/dt=2026-11-30/part.parquet has no rows"):
        run_monitor(dated)


def test_no_actual_arrived_yet_is_nothing_to_measure(dated):
    for path in dated.glob("actuals/*/part.parquet"):
        pd.DataFrame({"house_id": ["later"], "price": [1.0]}).to_parquet(path, index=False)
    with pytest.raises(
        DataError, match=r"no actual has arrived yet for the 150 predictions of 2026-11-29 to 2026-12-01"
    ):
        run_monitor(dated)


def test_the_monitor_section_takes_finite_tolerances_and_whole_day_windows():
    base = {"predictions": "p/dt={date}/x.parquet", "actuals": "a.csv", "key": "id"}
    assert MonitorConfig.model_validate(base).tolerance == 0.2
    for bad, message in (
        ({"tolerance": math.inf}, "tolerance"),
        ({"tolerance": math.nan}, "tolerance"),
        ({"tolerance": -0.1}, "tolerance"),
        ({"window": "12h"}, "not whole days"),
        ({"window": "soon"}, "not a length"),
        ({"predictions": "p/x.parquet"}, "names no day"),
    ):
        with pytest.raises(ValidationError, match=message):
            MonitorConfig.model_validate({**base, **bad})


def test_the_plot_of_error_by_day_is_a_small_png(dated):
    png = plot_errors_by_day(run_monitor(dated))
    assert png.startswith(b"\x89PNG")
    assert len(png) < 100_000
    assert png_markdown(png, alt="error").startswith("![error](data:image/png;base64,iVBOR")

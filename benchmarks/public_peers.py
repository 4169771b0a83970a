"""The peers of the public-table suite, each set up at its defaults as a careful user would.

Columns are read from the table as given, not from regress's contract: numbers stay numbers;
a text column whose values all parse as ISO dates or date-times becomes its year, month, day,
day of week, day of year, hour (where any is set) and days since 1970; any other text column
is categorical, its categories those of the fitting rows (a value seen only in test rows is
a blank).

- CatBoost: defaults, categorical and text columns as `cat_features` (blanks as a value).
- LightGBM: defaults, categorical columns as pandas categories.
- HGB (HistGradientBoosting): defaults, native categories up to its 255, ordinal codes above.
- LR (LinearRegression): median imputation of numbers, most frequent value and one-hot
  encoding of categories.
- RealMLP-TD and TabM-D (`pytabkit`, the `bench-nn` extra): defaults, numbers median-imputed
  (they refuse blanks), categories as pandas categories (blanks as a value).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

BLANK = "(blank)"
HGB_MAX_CATEGORIES = 255
TEXT_VALUES = 64
Predict = Callable[[pd.DataFrame], np.ndarray]
Fit = Callable[[pd.DataFrame, np.ndarray, list[str], int], Predict]


@dataclass(frozen=True)
class ColumnRoles:
    """The feature columns of a table by how the peers use them."""

    numeric: list[str]
    categorical: list[str]
    dates: list[str]


def is_date_column(series: pd.Series) -> bool:
    """True for a text column whose every filled value is an ISO date or date-time."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    filled = series.dropna()
    if filled.empty:
        return False
    try:
        pd.to_datetime(filled, format="ISO8601")
    except (ValueError, TypeError):
        return False
    return True


def column_roles(df: pd.DataFrame, target: str) -> ColumnRoles:
    numeric, categorical, dates = [], [], []
    for name in df.columns:
        if name == target:
            continue
        series = df[name]
        if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
            numeric.append(name)
        elif is_date_column(series):
            dates.append(name)
        else:
            categorical.append(name)
    return ColumnRoles(numeric=numeric, categorical=categorical, dates=dates)


def table_kinds(df: pd.DataFrame, target: str) -> set[str]:
    """The kinds of `benchmarks.public_tables.KINDS` that a table's feature columns show."""
    roles = column_roles(df, target)
    kinds = {"numeric"} if roles.numeric else set()
    if roles.categorical:
        kinds.add("categorical")
    if roles.dates:
        kinds.add("date")
    if any(df[name].nunique() >= TEXT_VALUES for name in roles.categorical):
        kinds.add("text")
    if df.drop(columns=[target]).isna().any().any():
        kinds.add("missing")
    return kinds


def date_parts(series: pd.Series) -> pd.DataFrame:
    """A date column as numbers: year, month, day, day of week, day of year, hour where any is set, days since 1970."""
    when = pd.to_datetime(series, format="ISO8601")
    parts = {
        "year": when.dt.year,
        "month": when.dt.month,
        "day": when.dt.day,
        "weekday": when.dt.dayofweek,
        "dayofyear": when.dt.dayofyear,
    }
    if (when.dt.hour.fillna(0) != 0).any():
        parts["hour"] = when.dt.hour
    parts["days"] = (when - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    return pd.DataFrame({f"{series.name} {part}": values.astype("float64") for part, values in parts.items()})


def peer_frames(fit_df: pd.DataFrame, test_df: pd.DataFrame, roles: ColumnRoles) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fitting and test features: numbers as float, dates as their parts, text as categories of the fitting rows."""

    def numbers(df: pd.DataFrame) -> pd.DataFrame:
        parts = [df[roles.numeric].astype("float64")] + [date_parts(df[name]) for name in roles.dates]
        return pd.concat(parts, axis=1)

    fit_x, test_x = numbers(fit_df), numbers(test_df)
    for name in roles.categorical:
        categories = sorted(fit_df[name].dropna().astype(str).unique())
        for x, df in ((fit_x, fit_df), (test_x, test_df)):
            x[name] = pd.Categorical(df[name].astype(str).where(df[name].notna()), categories=categories)
    return fit_x, test_x


def _blank_as_value(x: pd.DataFrame, cats: list[str]) -> pd.DataFrame:
    x = x.copy()
    for name in cats:
        x[name] = x[name].cat.add_categories([BLANK]).fillna(BLANK)
    return x


def fit_catboost(x: pd.DataFrame, y: np.ndarray, cats: list[str], seed: int) -> Predict:
    from catboost import CatBoostRegressor

    def strings(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for name in cats:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), BLANK).astype(str)
        return frame

    model = CatBoostRegressor(random_seed=seed, verbose=0, allow_writing_files=False)
    model.fit(strings(x), y, cat_features=cats)
    return lambda test: _predict(model, strings(test))


def fit_lightgbm(x: pd.DataFrame, y: np.ndarray, cats: list[str], seed: int) -> Predict:
    from lightgbm import LGBMRegressor

    model = LGBMRegressor(random_state=seed, verbose=-1)
    model.fit(x, y)
    return lambda test: _predict(model, test)


def fit_hgb(x: pd.DataFrame, y: np.ndarray, cats: list[str], seed: int) -> Predict:
    from sklearn.ensemble import HistGradientBoostingRegressor

    wide = [name for name in cats if len(x[name].cat.categories) > HGB_MAX_CATEGORIES]

    def codes(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for name in wide:
            frame[name] = frame[name].cat.codes.replace(-1, np.nan).astype("float64")
        return frame

    model = HistGradientBoostingRegressor(random_state=seed, categorical_features="from_dtype")
    model.fit(codes(x), y)
    return lambda test: _predict(model, codes(test))


def fit_linear(x: pd.DataFrame, y: np.ndarray, cats: list[str], seed: int) -> Predict:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    numeric = [name for name in x.columns if name not in cats]
    branches: list[tuple[str, Any, list[str]]] = [("numeric", SimpleImputer(strategy="median"), numeric)]
    if cats:
        one_hot = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
        branches.append(("categorical", one_hot, cats))

    def objects(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        for name in cats:
            frame[name] = frame[name].astype(object).where(frame[name].notna(), np.nan)
        return frame

    model = make_pipeline(ColumnTransformer(branches), LinearRegression())
    model.fit(objects(x), y)
    return lambda test: _predict(model, objects(test))


def _pytabkit(kind: str) -> Fit:
    def fit(x: pd.DataFrame, y: np.ndarray, cats: list[str], seed: int) -> Predict:
        import pytabkit

        numeric = [name for name in x.columns if name not in cats]
        medians = x[numeric].median().fillna(0.0)
        model = getattr(pytabkit, kind)(random_state=seed, device="cpu", verbosity=0)
        model.fit(_blank_as_value(x.fillna(medians), cats), y, cat_col_names=cats or None)
        return lambda test: _predict(model, _blank_as_value(test.fillna(medians), cats))

    return fit


def _predict(model: Any, test: pd.DataFrame) -> np.ndarray:
    return np.asarray(model.predict(test), dtype="float64").reshape(-1)


def nn_available() -> bool:
    try:
        import pytabkit  # noqa: F401  (installed with the bench-nn extra, or not)
    except ImportError:
        return False
    return True


def peer_fits(*, with_nn: bool) -> dict[str, Fit]:
    """Each peer's name and how to fit it and predict the test rows."""
    fits: dict[str, Fit] = {"CatBoost": fit_catboost, "LightGBM": fit_lightgbm, "HGB": fit_hgb, "LR": fit_linear}
    if with_nn:
        fits |= {"RealMLP-TD": _pytabkit("RealMLP_TD_Regressor"), "TabM-D": _pytabkit("TabM_D_Regressor")}
    return fits


def run_peer(
    fit: Fit, x: pd.DataFrame, y: np.ndarray, test: pd.DataFrame, cats: list[str], seed: int
) -> tuple[np.ndarray, float]:
    """A peer's test predictions and the seconds its fit took (preparing its input and fitting)."""
    started = time.perf_counter()
    predict = fit(x, y, cats, seed)
    seconds = time.perf_counter() - started
    return predict(test), seconds

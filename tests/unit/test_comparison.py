"""Row fingerprints and the champion comparison on rows neither model has seen, with its bootstrap interval."""

import numpy as np
import pandas as pd

from regress_core.config import GateConfig
from regress_core.data.fingerprints import load_fingerprints, row_fingerprints, save_fingerprints, seen_mask
from regress_core.registry.comparison import compare, paired_bootstrap_interval
from regress_core.registry.gate import decide

GOOD = {"mse": 0.25, "rmse": 0.5, "mae": 0.4, "r2": 0.8}


def test_a_row_hashes_alike_across_dtypes_column_order_and_files(tmp_path):
    ints = pd.DataFrame({"x": [1, 2, 3], "city": ["a", "b", None], "y": [10, 20, 30]})
    floats = pd.DataFrame({"y": [10.0, 20.0, 30.0], "city": pd.Categorical(["a", "b", None]), "x": [1.0, 2.0, 3.0]})
    columns = ["x", "city", "y"]
    assert (row_fingerprints(ints, columns) == row_fingerprints(floats, columns)).all()
    changed = floats.assign(y=[10.0, 20.0, 30.5])
    assert (row_fingerprints(changed, columns) == row_fingerprints(ints, columns)).tolist() == [True, True, False]
    save_fingerprints(tmp_path / "seen.npy", row_fingerprints(ints, columns))
    seen = load_fingerprints(tmp_path / "seen.npy")
    assert seen_mask(row_fingerprints(changed, columns), seen).tolist() == [True, True, False]


def test_rows_seen_by_either_model_are_left_out_and_counted():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    candidate, champion = y + rng.normal(0, 0.5, 200), y + rng.normal(0, 0.5, 200)
    by_candidate = np.zeros(200, dtype=bool)
    by_candidate[:10] = True
    by_champion = np.zeros(200, dtype=bool)
    by_champion[5:50] = True
    champion[5:50] = y[5:50]  # perfect on the rows it trained on: the flattery the comparison removes
    result = compare(y, candidate, champion, seen_by_candidate=by_candidate, seen_by_champion=by_champion, min_rows=30)
    assert result.unseen_only
    assert result.rows == 150
    assert (
        result.note
        == "150 of 200 test rows unseen by both models (left out: 10 seen by the candidate, 45 by the champion)"
    )
    used = slice(50, 200)
    expected = np.sqrt(np.mean((champion[used] - y[used]) ** 2))
    assert np.isclose(result.champion["rmse"], expected)


def test_too_few_unseen_rows_fall_back_to_all_rows_and_say_so():
    y = np.zeros(40)
    seen = np.zeros(40, dtype=bool)
    seen[:20] = True
    result = compare(
        y, y + 0.1, y + 0.2, seen_by_candidate=np.zeros(40, dtype=bool), seen_by_champion=seen, min_rows=30
    )
    assert not result.unseen_only
    assert result.rows == 40
    assert result.note.startswith(
        "all 40 test rows: only 20 are unseen by both models, fewer than gate.min_comparison_rows=30"
    )


def test_a_champion_without_recorded_rows_is_compared_on_all_rows_with_a_note():
    y = np.zeros(50)
    result = compare(
        y, y + 0.1, y + 0.2, seen_by_candidate=np.zeros(50, dtype=bool), seen_by_champion=None, min_rows=30
    )
    assert result.rows == 50
    assert "the champion records no training rows" in result.note


def test_the_paired_bootstrap_interval_covers_the_difference_and_shrinks_with_more_rows():
    rng = np.random.default_rng(1)
    small, large = [], []
    for n_rows, widths in ((100, small), (10_000, large)):
        errors_a = rng.normal(0, 1.00, n_rows) ** 2
        errors_b = rng.normal(0, 1.02, n_rows) ** 2
        low, high = paired_bootstrap_interval(errors_a, errors_b)
        observed = np.sqrt(errors_a.mean()) - np.sqrt(errors_b.mean())
        assert low < observed < high
        widths.append(high - low)
    assert large[0] < small[0] / 5
    # Seeded: the same errors give the same interval.
    errors = rng.normal(size=300) ** 2
    assert paired_bootstrap_interval(errors, errors * 1.1) == paired_bootstrap_interval(errors, errors * 1.1)


def noisy_comparison(gain: float, n_rows: int):
    """A candidate whose RMSE is exactly `gain` (a fraction) below the champion's, errors independent per row."""
    rng = np.random.default_rng(2)
    candidate, champion = rng.normal(size=n_rows), rng.normal(size=n_rows)
    champion *= np.sqrt(np.mean(candidate**2) / np.mean(champion**2)) / (1 - gain)
    unseen = np.zeros(n_rows, dtype=bool)
    return compare(
        np.zeros(n_rows), candidate, champion, seen_by_candidate=unseen, seen_by_champion=unseen, min_rows=30
    )


def test_require_significant_refuses_a_gain_that_may_be_noise_and_keeps_a_clear_one():
    gate = GateConfig(champion_tolerance=0.0, require_significant=True)
    unsure = decide(version="v2", metrics=GOOD, gate=gate, champion="v1", comparison=noisy_comparison(0.02, 60))
    assert unsure.comparison.difference < 0 < unsure.comparison.interval[1]
    assert not unsure.promote
    assert "gate.require_significant: the interval reaches" in unsure.checks[-1].text
    sure = decide(version="v2", metrics=GOOD, gate=gate, champion="v1", comparison=noisy_comparison(0.2, 2000))
    assert sure.comparison.interval[1] < 0
    assert sure.promote
    assert "the whole interval is within the tolerance" in sure.checks[-1].text
    relaxed = decide(
        version="v2", metrics=GOOD, gate=GateConfig(champion_tolerance=0.0), champion="v1", comparison=unsure.comparison
    )
    assert relaxed.promote
    assert "95% bootstrap interval of the difference" in relaxed.checks[-1].text
    assert "95% bootstrap interval" in relaxed.as_markdown()

import math

import numpy as np
import pandas as pd
import pytest
import torch

from regress_core.config import ModelConfig, build_config
from regress_core.data.contract import infer_contract
from regress_core.data.preprocessing import Preprocessor
from regress_core.model.candidates import fit_ridge
from regress_core.model.predict import predict_scaled
from regress_core.model.saving import load_model, save_weights
from regress_core.model.selection import TableViews, candidate_names, select_model
from tests.helpers import make_table

TINY = [
    "model.hidden_sizes=[16]",
    "model.ensemble_size=2",
    "model.n_bins=4",
    "model.embedding_dim=4",
    "train.max_epochs=60",
    "train.patience=10",
    "train.lr=0.02",
]


def parabola(n_rows=150, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, n_rows)
    return pd.DataFrame({"x": x, "y": x**2 + rng.normal(0, 0.3, n_rows)})


def views(df, *, target="y", n_val=30):
    contract = infer_contract(df, target=target)
    train, val = df.iloc[:-n_val], df.iloc[-n_val:]
    pre = Preprocessor(contract=contract, scaler="quantile").fit(train)
    data = TableViews(
        x_train=pre.transform_features(train),
        x_val=pre.transform_features(val),
        x_train_standard=pre.transform_features(train, view="standard"),
        x_val_standard=pre.transform_features(val, view="standard"),
        y_train=pre.transform_target(train[target]),
        y_val=pre.transform_target(val[target]),
        indicators=tuple(pre.indicator_columns()),
        target_std=pre.target_std_,
    )
    return data, pre


def select(df, *overrides, **kwargs):
    config = build_config(overrides=[*TINY, *overrides])
    data, pre = views(df, **kwargs)
    return select_model(data, config.model, config.train), data, pre


def test_a_straight_line_picks_the_linear_candidate_read_from_the_standard_view():
    selection, _data, _ = select(make_table(150), "model.candidates=[linear, mlp, embedding_mlp]")
    assert selection.chosen == "linear"
    assert selection.spec.kind == "linear"
    assert selection.spec.view == "standard"
    assert selection.spec.n_folds == 1
    assert selection.history == []
    assert selection.precision == "float64"
    assert selection.scheme == "5-fold cross-validation"
    assert 1 <= selection.threads <= torch.get_num_threads()
    assert selection.threads_reason


def test_a_linear_model_alone_samples_no_cores():
    selection, _data, _ = select(make_table(150), "model.kind=linear")
    assert selection.chosen == "linear"
    assert (selection.threads, selection.threads_reason) == (torch.get_num_threads(), "no network trained")


def test_a_parabola_picks_a_network():
    selection, _, _ = select(parabola())
    assert selection.threads_reason != "no network trained"
    assert selection.chosen in ("mlp", "embedding_mlp")
    assert selection.spec.view == "configured"
    assert selection.spec.n_folds == 5
    linear = next(score for score in selection.scores if score.name == "linear")
    assert selection.best_val_loss < 0.5 * linear.mse


def test_summary_has_the_shape_the_reports_render():
    selection, _data, pre = select(parabola())
    summary = selection.summary()
    assert set(summary) == {"scheme", "chosen", "candidates", "budget"}
    assert [c["name"] for c in summary["candidates"]] == ["linear", "embedding_mlp"]
    for candidate, score in zip(summary["candidates"], selection.scores, strict=True):
        assert set(candidate) == {"name", "val_rmse", "seconds"}
        assert candidate["val_rmse"] == pytest.approx(math.sqrt(score.mse) * pre.target_std_)
    assert set(summary["budget"]) == {
        "batch_size",
        "max_epochs",
        "eval_every",
        "patience",
        "n_bins",
        "embedding_dim",
        "hidden_sizes",
        "ensemble_size",
        "inputs",
        "embedded_inputs",
    }
    assert summary["budget"]["hidden_sizes"] == [16]
    assert summary["budget"]["inputs"] == 1


def test_same_seed_gives_identical_weights_and_predictions_on_the_cv_path():
    first, data, _ = select(parabola(), "train.seed=3")
    second, _, _ = select(parabola(), "train.seed=3")
    assert first.chosen == second.chosen
    assert first.spec == second.spec
    assert first.spec.n_folds == 5
    for (name, a), (_, b) in zip(first.model.state_dict().items(), second.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    np.testing.assert_array_equal(predict_scaled(first.model, data.x_val), predict_scaled(second.model, data.x_val))
    assert [s.mse for s in first.scores] == [s.mse for s in second.scores]
    other, _, _ = select(parabola(), "train.seed=4", "model.candidates=[embedding_mlp]")
    assert not np.array_equal(predict_scaled(other.model, data.x_val), predict_scaled(first.model, data.x_val))


def test_large_tables_use_the_validation_split():
    selection, _, _ = select(parabola(), "train.cv_below_rows=100")
    assert selection.scheme == "validation split"
    assert selection.spec.n_folds == 1
    assert [score.name for score in selection.scores] == ["linear", "mlp", "embedding_mlp"]
    assert all(len(score.fold_mse) == 1 for score in selection.scores)


def test_a_fixed_kind_trains_that_kind_alone_with_or_without_folds():
    with_folds, _, _ = select(parabola(), "model.kind=mlp")
    assert [s.name for s in with_folds.scores] == ["mlp"]
    assert with_folds.spec.n_folds == 5
    without, _, _ = select(parabola(), "model.kind=embedding_mlp", "train.cv_folds=0")
    assert without.spec.kind == "embedding_mlp"
    assert without.spec.n_folds == 1
    assert without.scheme == "validation split"


def test_candidates_leave_out_the_plain_mlp_under_cross_validation_and_on_large_tables():
    auto = ModelConfig(kind="auto")
    assert candidate_names(auto, n_fit=9_999, use_cv=False) == ["linear", "mlp", "embedding_mlp"]
    assert candidate_names(auto, n_fit=500, use_cv=True) == ["linear", "embedding_mlp"]
    assert candidate_names(auto, n_fit=10_000, use_cv=False) == ["linear", "embedding_mlp"]
    explicit = ModelConfig(kind="auto", candidates=["mlp", "linear"])
    assert candidate_names(explicit, n_fit=50_000, use_cv=False) == ["mlp", "linear"]
    assert candidate_names(ModelConfig(kind="mlp"), n_fit=50_000, use_cv=True) == ["mlp"]


def test_one_hot_binary_and_missing_flag_inputs_are_not_embedded():
    rng = np.random.default_rng(0)
    n_rows = 200
    df = pd.DataFrame(
        {
            "size": rng.uniform(0, 1, n_rows),
            "age": np.where(rng.random(n_rows) < 0.2, np.nan, rng.uniform(0, 9, n_rows)),
            "flag": rng.integers(0, 2, n_rows).astype(float),
            "city": rng.choice(["a", "b", "c"], n_rows),
        }
    )
    df["y"] = df["size"] * 3 + df["flag"] + rng.normal(0, 0.1, n_rows)
    selection, _data, pre = select(df, "model.kind=embedding_mlp")
    names = pre.feature_names_out()
    embedded = [names[index] for index in selection.spec.embedded_inputs]
    assert embedded == ["numeric__size", "numeric_imputed__age"]
    assert selection.budget.embedded_inputs == 2
    assert selection.budget.inputs == len(names) == 7
    first_layer = selection.model.weights[0]  # fold models: (K, width, hidden)
    assert first_layer.shape[1] == 2 * 4 + 5  # two 4-wide embeddings, five inputs passed through


@pytest.mark.parametrize("candidates", [["linear"], ["mlp"], ["embedding_mlp"]])
@pytest.mark.parametrize("cv_folds", [0, 5])
def test_every_chosen_model_loads_back_from_spec_and_weights(tmp_path, candidates, cv_folds):
    selection, data, _ = select(
        parabola(90), f"model.candidates=[{candidates[0]}]", f"train.cv_folds={cv_folds}", "train.max_epochs=5"
    )
    x = data.x_val_standard if selection.spec.view == "standard" else data.x_val
    loaded = load_model(selection.spec, save_weights(selection.model, tmp_path / "model.pt"))
    np.testing.assert_array_equal(predict_scaled(loaded, x), predict_scaled(selection.model, x))
    assert selection.spec.n_folds == (5 if cv_folds and candidates != ["linear"] else 1)


def test_a_fixed_linear_kind_is_ridge_on_the_standard_view_under_a_quantile_scaler():
    df = make_table(150)
    selection, data, _ = select(df, "model.kind=linear")  # `views` fits a quantile scaler
    assert (selection.spec.kind, selection.spec.view, selection.history) == ("linear", "standard", [])
    # Scored by cross-validation, then refitted on every training and validation row.
    assert selection.scheme == "5-fold cross-validation"
    pooled = np.concatenate([data.x_train_standard, data.x_val_standard])
    fitted = fit_ridge(pooled, np.concatenate([data.y_train, data.y_val]))
    np.testing.assert_allclose(
        predict_scaled(selection.model, data.x_val_standard),
        predict_scaled(fitted.model, data.x_val_standard),
        rtol=1e-5,
    )


def test_fold_models_train_alike_with_bin_encodings_computed_once_or_at_every_step(monkeypatch):
    from regress_core.model import folds, loop

    made = []
    encode_once = folds.encode_once
    monkeypatch.setattr(folds, "encode_once", lambda *a: made.append(encode_once(*a)) or made[-1])
    df = parabola()
    kept = select(df, "model.kind=embedding_mlp", "train.max_epochs=8")[0]
    assert made[-1] is not None  # encoded once, before the first step
    monkeypatch.setattr(loop, "ENCODED_MAX_BYTES", 0)  # every step encodes its own rows
    encoded_each_step = select(df, "model.kind=embedding_mlp", "train.max_epochs=8")[0]
    assert made[-1] is None
    assert kept.spec.n_folds == 5
    assert [s.mse for s in kept.scores] == [s.mse for s in encoded_each_step.scores]
    kept_state, each_state = kept.model.state_dict(), encoded_each_step.model.state_dict()
    assert kept_state.keys() == each_state.keys()
    for name, tensor in kept_state.items():
        assert torch.equal(tensor, each_state[name]), name


CONSTANT = ["model.hidden_sizes=[16]", "train.max_epochs=80", "train.lr_schedule=constant", "train.ema_decay=0"]


@pytest.mark.parametrize(
    ("rows", "cv_folds", "settings", "patience"),
    [
        # Constant learning rate, no weight averaging, 4 checks: every fold model stops improving.
        (150, 0, [*CONSTANT, "train.patience=4"], 4),
        (150, 5, [*CONSTANT, "train.patience=4"], 4),
        # The default schedule, weight averaging and patience, sized to the table: 334 epochs
        # checked every 3, and a patience of 10 % of the checks (12).
        (123, 0, [], None),
    ],
    ids=["validation-split", "folds", "sized-defaults"],
)
def test_a_patience_replayed_on_a_run_that_never_stops_keeps_what_training_with_that_patience_keeps(
    rows, cv_folds, settings, patience
):
    from benchmarks.patience_check import patience_checks, replay

    small = ["model.hidden_sizes=[16]", "model.ensemble_size=2", "model.n_bins=4", "model.embedding_dim=4"]
    common = [*small, "model.kind=embedding_mlp", f"train.cv_folds={cv_folds}", "train.lr=0.05", *settings]
    noisy = parabola(rows)
    noisy["y"] += np.random.default_rng(1).normal(0, 4.0, len(noisy))  # a noisy target: the models stop improving
    data, _ = views(noisy)
    records = []
    full = build_config(overrides=[*common, "train.patience=0"])
    select_model(data, full.model, full.train, on_epoch=records.append)
    assert all(len(r.model_losses) == (5 if cv_folds else 1) for r in records)
    stopped = select_model(data, build_config(overrides=common).model, build_config(overrides=common).train)
    assert stopped.stopped_early
    assert stopped.history[-1].epoch < records[-1].epoch

    replayed = replay(records, patience or patience_checks(10, records))
    assert replayed.stop_epoch == stopped.history[-1].epoch
    assert list(replayed.best_epochs) == (stopped.fold_best_epochs or [stopped.best_epoch])
    assert replayed.loss == pytest.approx(stopped.best_val_loss, rel=1e-6)

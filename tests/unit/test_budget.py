import pytest

from regress_core.config import ModelConfig, RegressConfig, TrainConfig, build_config
from regress_core.model.budget import batch_size_for, bins_for, embedding_dim_for, epochs_for, plan_budget


def default_sections(**overrides):
    config = build_config(overrides=[f"{key}={value}" for key, value in overrides.items()])
    return config.model, config.train


def plan(kind="embedding_mlp", n_train=1000, n_inputs=4, n_embedded=4, **overrides):
    model, train = default_sections(**overrides)
    return plan_budget(kind=kind, n_train=n_train, n_inputs=n_inputs, n_embedded=n_embedded, model=model, train=train)


def test_large_tables_get_the_settings_the_ensemble_was_tuned_with():
    budget = plan(n_train=14_860, n_inputs=8, n_embedded=8)
    assert (budget.batch_size, budget.max_epochs, budget.eval_every, budget.patience) == (128, 100, 1, 10)
    assert (budget.n_bins, budget.embedding_dim, budget.hidden_sizes, budget.ensemble_size) == (96, 32, (256, 256), 8)


@pytest.mark.parametrize(
    ("rows", "batch"), [(40, 32), (300, 32), (600, 64), (1500, 128), (2048, 256), (9_999, 256), (10_000, 128)]
)
def test_batch_is_a_power_of_two_near_an_eighth_of_the_rows_and_128_on_large_tables(rows, batch):
    assert batch_size_for(rows) == batch


def test_small_tables_get_the_step_floor_and_spaced_checks():
    budget = plan(n_train=64, n_inputs=1, n_embedded=1)
    assert budget.batch_size == 32
    assert budget.max_epochs == 500  # 2 steps an epoch: 1000 steps
    assert budget.eval_every == 5
    assert budget.patience == 50  # 10 checks of 5 epochs
    assert budget.patience_checks == 10
    assert epochs_for(64, 32, min_steps=3000) == 1500
    assert epochs_for(100_000, 256, min_steps=1000) == 100


def test_bins_widths_and_members_follow_the_rows_and_inputs():
    assert (bins_for(100), bins_for(500), bins_for(100_000)) == (8, 25, 96)
    assert embedding_dim_for(1000, 4) == 16
    assert embedding_dim_for(5000, 4) == 32
    assert embedding_dim_for(5000, 100) == 10
    assert embedding_dim_for(5000, 1000) == 4
    assert plan(n_train=1000).hidden_sizes == (128, 128)
    assert plan(kind="mlp", n_embedded=4).ensemble_size == 1
    assert plan(kind="mlp").embedded_inputs == 0
    linear = plan(kind="linear")
    assert linear.hidden_sizes == ()
    assert linear.ensemble_size == 1


def test_explicit_values_win_over_every_rule():
    budget = plan(
        n_train=64,
        **{
            "train.batch_size": 16,
            "train.max_epochs": 7,
            "train.patience": 3,
            "model.n_bins": 5,
            "model.embedding_dim": 3,
            "model.hidden_sizes": "[9]",
            "model.ensemble_size": 2,
        },
    )
    assert (budget.batch_size, budget.max_epochs, budget.eval_every, budget.patience) == (16, 7, 1, 3)
    assert (budget.n_bins, budget.embedding_dim, budget.hidden_sizes, budget.ensemble_size) == (5, 3, (9,), 2)
    assert plan(n_train=64, **{"train.batch_size": 0}).batch_size == 64  # 0: full batch
    assert plan(n_train=64, **{"train.min_steps": 0}).max_epochs == 100


def test_notebook_preset_keeps_its_recipe():
    config = build_config(values={"preset": "notebook"})
    budget = plan_budget(kind="mlp", n_train=14_860, n_inputs=8, n_embedded=8, model=config.model, train=config.train)
    assert (budget.batch_size, budget.max_epochs, budget.eval_every, budget.patience) == (14_860, 100, 1, 0)
    assert budget.hidden_sizes == (64, 32)
    assert budget.ensemble_size == 1


def test_an_unresolved_config_is_sized_like_the_default_preset():
    resolved = RegressConfig(model=ModelConfig(), train=TrainConfig()).resolved()
    budget = plan_budget(
        kind="embedding_mlp", n_train=64, n_inputs=1, n_embedded=1, model=resolved.model, train=resolved.train
    )
    assert budget.max_epochs == 500


def capped(n_train, n_inputs, *, n_folds=5, n_pool=None, kind="embedding_mlp", **overrides):
    model, train = default_sections(**overrides)
    return plan_budget(
        kind=kind,
        n_train=n_train,
        n_inputs=n_inputs,
        n_embedded=n_inputs if kind == "embedding_mlp" else 0,
        model=model,
        train=train,
        n_folds=n_folds,
        n_pool=n_pool if n_pool is not None else round(n_train * 1.25),
    )


def test_the_cost_estimate_follows_steps_members_and_width():
    from regress_core.model.budget import MACS_PER_SECOND, STEP_SECONDS

    budget = capped(741, 8, n_pool=10**6)  # sized as under 5-fold cross-validation, not capped
    # 12 steps an epoch; per row and member: 8 x 37 x 16 embedding multiply-adds, then 128-128-1 layers
    assert budget.macs_per_row == 8 * 37 * 16 + 128 * 128 + 128 * 128 + 128
    per_step = STEP_SECONDS + 64 * 5 * 4 * budget.macs_per_row / MACS_PER_SECOND
    assert budget.estimated_seconds(741, 5) == pytest.approx(100 * 12 * per_step)
    assert budget.estimated_seconds(741, 1) < budget.estimated_seconds(741, 5)


def test_small_tables_have_members_then_embeddings_cut_towards_the_fit_seconds():
    from regress_core.model.budget import FIT_SECONDS

    uncapped = capped(741, 8, n_pool=10**6)
    budget = capped(741, 8)  # 1,030 rows under 5-fold cross-validation
    assert uncapped.ensemble_size == 4
    assert uncapped.estimated_seconds(741, 5) > FIT_SECONDS
    assert (budget.ensemble_size, budget.embedding_dim, budget.max_epochs) == (2, 16, 100)
    assert budget.estimated_seconds(741, 5) <= FIT_SECONDS
    wide = capped(1145, 57)  # a 57-column table: still over after both cuts, epochs kept
    assert (wide.ensemble_size, wide.embedding_dim, wide.max_epochs) == (2, 8, 112)
    split = capped(2978, 12, n_folds=1)  # validation split: 8 members cut to 2
    assert (split.ensemble_size, split.embedding_dim) == (2, 16)  # 12 inputs: not wide, embeddings kept
    assert capped(2978, 12, n_folds=1, kind="mlp").ensemble_size == 1  # one member stays one


def test_large_tables_and_explicit_settings_are_never_cut():
    large = capped(14_860, 8, n_folds=1, n_pool=16_512)
    assert (large.ensemble_size, large.embedding_dim) == (8, 32)
    explicit = capped(1145, 57, **{"model.ensemble_size": 4, "model.embedding_dim": 16})
    assert (explicit.ensemble_size, explicit.embedding_dim) == (4, 16)
    model, train = default_sections()
    unsized = plan_budget(
        kind="embedding_mlp", n_train=1145, n_inputs=57, n_embedded=57, model=model, train=train, n_folds=5
    )
    assert unsized.ensemble_size == 4  # no table size given: not capped

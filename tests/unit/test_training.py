import numpy as np
import pytest
import torch

from regress_core.config import ModelConfig, TrainConfig
from regress_core.errors import TrainingError
from regress_core.model.device import resolve_device, resolve_precision
from regress_core.model.optim import TrainSettings
from regress_core.model.predict import predict_scaled
from regress_core.model.spec import ModelSpec
from regress_core.model.training import fit_network, train_model


def data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2)).astype("float32")
    y = (1.5 * x[:, 0] - 0.5 * x[:, 1] + rng.normal(0, 0.1, n)).astype("float32")
    return x[:150], y[:150], x[150:], y[150:]


def fit(model=None, **train):
    x, y, xv, yv = data()
    settings = {
        "max_epochs": 30,
        "batch_size": 32,
        "lr": 0.01,
        "patience": 0,
        "lr_schedule": "constant",
        "ema_decay": 0.0,
        "weight_decay": 0.0,
        **train,
    }
    model = model or ModelConfig(kind="mlp", hidden_sizes=[16], ensemble_size=1, dropout=0.0)
    return train_model(
        x_train=x, y_train=y, x_val=xv, y_val=yv, model_config=model, train_config=TrainConfig(**settings)
    )


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw"])
@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
def test_learns_a_linear_relation(optimizer, loss):
    result = fit(optimizer=optimizer, loss=loss, momentum=0.9 if optimizer == "sgd" else 0.0)
    assert result.best_val_loss < 0.1


def test_linear_model_recovers_coefficients():
    result = fit(ModelConfig(kind="linear", hidden_sizes=[]), max_epochs=60)
    weights = result.model.linear.weight.detach().numpy().ravel()
    np.testing.assert_allclose(weights, [1.5, -0.5], atol=0.05)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_same_seed_gives_identical_weights_and_predictions(precision):
    first, second = fit(seed=7, precision=precision), fit(seed=7, precision=precision)
    x = data()[2]
    np.testing.assert_array_equal(predict_scaled(first.model, x), predict_scaled(second.model, x))
    assert [r.val_loss for r in first.history] == [r.val_loss for r in second.history]
    assert first.precision == precision
    assert not np.array_equal(predict_scaled(fit(seed=8, precision=precision).model, x), predict_scaled(first.model, x))


def test_bfloat16_training_learns_as_well_and_keeps_float32_weights():
    model = ModelConfig(kind="embedding_mlp", hidden_sizes=[32], ensemble_size=4, n_bins=8, embedding_dim=4)
    full, mixed = fit(model, precision="float32", max_epochs=40), fit(model, precision="bfloat16", max_epochs=40)
    assert mixed.best_val_loss < 0.1
    assert mixed.best_val_loss < 2 * full.best_val_loss + 0.01
    assert all(p.dtype == torch.float32 for p in mixed.model.parameters())
    assert predict_scaled(mixed.model, data()[2]).dtype == np.float32


def test_precision_auto_takes_bfloat16_only_where_the_device_has_it(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert resolve_precision("auto", cpu) == torch.float32
    assert resolve_precision("bfloat16", cpu) == torch.bfloat16
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    assert resolve_precision("auto", cpu) == torch.bfloat16
    assert resolve_precision("float32", cpu) == torch.float32


def test_early_stopping_keeps_the_best_epoch():
    result = fit(max_epochs=300, patience=3, lr=0.05)
    assert result.stopped_early
    assert len(result.history) == result.best_epoch + 3
    assert result.best_val_loss == min(r.val_loss for r in result.history)


def test_ensemble_ema_cosine_and_full_batch_train():
    model = ModelConfig(kind="embedding_mlp", hidden_sizes=[16], ensemble_size=4, n_bins=8, embedding_dim=4)
    result = fit(model, ema_decay=0.9, lr_schedule="cosine", batch_size=0, max_epochs=40, lr=0.02)
    assert predict_scaled(result.model, data()[2]).shape == (50,)
    assert result.best_val_loss < 0.5


@pytest.mark.parametrize("embedded", [None, [0]], ids=["every-input", "one-of-two"])
def test_a_network_trains_alike_with_bin_encodings_computed_once_or_at_every_step(monkeypatch, embedded):
    from regress_core.model import loop

    model = ModelConfig(kind="embedding_mlp", hidden_sizes=[16], ensemble_size=2, n_bins=8, embedding_dim=4)
    x_train, y_train, x_val, y_val = data()
    if embedded is not None:
        x_train, x_val = (np.column_stack([x, x**2]) for x in (x_train, x_val))

    def trained():
        if embedded is None:
            return fit(model, max_epochs=6, lr=0.02)
        spec = ModelSpec(
            kind="embedding_mlp",
            n_features=2,
            hidden_sizes=(16,),
            ensemble_size=2,
            n_bins=8,
            embedding_dim=4,
            embedded=tuple(embedded),
            activation="relu",
            dropout=0.0,
        )
        settings = TrainSettings(max_epochs=6, lr=0.02, batch_size=16)
        return fit_network(spec, settings, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val)

    from regress_core.model import training

    made = []
    encode_once = training.encode_once
    monkeypatch.setattr(training, "encode_once", lambda *a: made.append(encode_once(*a)) or made[-1])
    once = trained()
    assert made[-1] is not None  # encoded once, before the first step
    monkeypatch.setattr(loop, "ENCODED_MAX_BYTES", 0)  # every step encodes its own rows
    each_step = trained()
    assert made[-1] is None
    assert [r.val_loss for r in once.history] == [r.val_loss for r in each_step.history]
    for name, tensor in once.model.state_dict().items():
        assert torch.equal(tensor, each_step.model.state_dict()[name]), name


def test_diverging_training_stops_with_a_clear_error():
    with pytest.raises(TrainingError, match=r"training diverged at epoch \d+: loss is (nan|inf); lower train.lr"):
        fit(optimizer="sgd", lr=10.0, momentum=0.9, max_epochs=50)


def test_device_auto_picks_cpu_without_cuda(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto").type == "cuda"
    assert resolve_device("cpu").type == "cpu"


def test_one_kind_at_a_time_and_open_fields_sized_to_the_table():
    with pytest.raises(ValueError, match=r"for kind auto use regress_core.pipeline.frames.fit_frames"):
        fit(ModelConfig(kind="auto"))
    sized = fit(ModelConfig(kind="embedding_mlp", hidden_sizes=[8], ensemble_size=2), max_epochs=3)
    assert sized.spec.n_bins == 8
    assert sized.spec.embedding_dim == 16
    assert sized.spec.embedded == (0, 1)


def test_training_takes_the_idle_cores_and_leaves_busy_ones():
    from regress_core.model.device import choose_threads

    assert choose_threads(2, 1.97) == choose_threads(2, 1.8)
    assert choose_threads(2, 1.97).count == 2
    assert choose_threads(2, 1.97).reason == "every core idle"
    assert choose_threads(2, 0.9).count == 1
    assert choose_threads(2, 0.9).reason == "1 of 2 cores busy with other work"
    assert choose_threads(2, 0.0).count == 1  # never fewer than one
    assert choose_threads(8, 5.6).count == 5
    assert choose_threads(1, 2.0).count == 1  # OMP_NUM_THREADS=1 or one core: one thread
    assert choose_threads(2, None).count == 2  # no /proc/stat: torch's default


def test_work_beside_a_busy_process_takes_at_most_the_cores_left_and_restores_the_setting():
    import torch

    from regress_core.model.device import capped_threads

    before = torch.get_num_threads()
    with capped_threads(1) as count:
        assert count == torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with capped_threads(before + 4) as count:  # never more than torch's setting
        assert count == before
    with capped_threads(0) as count:  # never fewer than one
        assert count == 1
    assert torch.get_num_threads() == before


def test_no_core_is_sampled_when_no_network_trains(monkeypatch):
    from regress_core.model import device

    def sampled(*args: object) -> float:
        raise AssertionError("idle cores sampled")

    monkeypatch.setattr(device, "idle_cores", sampled)
    before = torch.get_num_threads()
    with device.threads_for(networks=False) as threads:
        assert threads == device.Threads(before, "no network trained")
    assert torch.get_num_threads() == before


def test_idle_cores_are_measured_and_the_thread_setting_is_restored():
    import os

    from regress_core.model.device import idle_cores, threads_for

    idle = idle_cores(0.05)
    assert idle is not None
    assert 0 <= idle <= (os.cpu_count() or 1) + 0.01
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threads_for() as threads:
            assert threads.count == 1 == torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    with threads_for() as threads:
        assert 1 <= threads.count <= before
        assert torch.get_num_threads() == threads.count
    assert torch.get_num_threads() == before


def test_the_progress_bar_counts_optimizer_steps_and_shows_the_epoch_and_losses(capsys):
    x, y, xv, yv = data()
    settings = TrainConfig(max_epochs=4, batch_size=32, patience=0, ema_decay=0.0)
    model = ModelConfig(kind="mlp", hidden_sizes=[16], ensemble_size=1, dropout=0.0)
    train_model(x_train=x, y_train=y, x_val=xv, y_val=yv, model_config=model, train_config=settings, progress=True)
    shown = capsys.readouterr().err
    assert "train:" in shown
    assert "0/20 [" in shown  # 4 epochs of 5 batches of 150 rows
    assert "step" in shown
    assert "epoch=4" in shown
    assert "val=" in shown
    train_model(x_train=x, y_train=y, x_val=xv, y_val=yv, model_config=model, train_config=settings)
    assert "train:" not in capsys.readouterr().err

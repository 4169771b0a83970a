"""regress's optimizers and weight average match torch.optim's bit for bit, without importing torch._dynamo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from regress_core.model.embeddings import compute_bin_edges
from regress_core.model.networks import TabularMLP
from regress_core.model.optim import WeightAverage, make_ema
from regress_core.model.optimizers import Optimizer


def network(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 1))


def train(model: nn.Module, optimizer, steps: int = 60) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    for step in range(steps):
        x = torch.randn(32, 5, generator=generator)
        y = x[:, :1] * 2 - x[:, 1:2] ** 2
        for group in optimizer.param_groups:
            group["lr"] = 0.01 * (1 - step / steps)  # a schedule, as the training loop sets one
        optimizer.zero_grad(set_to_none=True)
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()
    return [param.detach().clone() for param in model.parameters()]


@pytest.mark.parametrize(
    ("kind", "reference", "options"),
    [
        ("adamw", torch.optim.AdamW, {"weight_decay": 3e-3}),
        ("adam", torch.optim.Adam, {"weight_decay": 3e-3}),
        ("adam", torch.optim.Adam, {"weight_decay": 0.0}),
        ("sgd", torch.optim.SGD, {"weight_decay": 1e-3, "momentum": 0.9}),
        ("sgd", torch.optim.SGD, {"weight_decay": 0.0, "momentum": 0.0}),
    ],
)
def test_the_weights_after_training_equal_torch_optims(kind, reference, options):
    ours = network()
    theirs = network()
    mine = train(ours, Optimizer(ours.parameters(), kind=kind, lr=0.01, **options))
    torchs = train(theirs, reference(theirs.parameters(), lr=0.01, **options))
    for a, b in zip(mine, torchs, strict=True):
        assert torch.equal(a, b)


def test_a_parameter_without_a_gradient_is_left_alone():
    model = network()
    frozen = model[0].weight
    frozen.requires_grad_(False)
    before = frozen.clone()
    train(model, Optimizer(model.parameters(), kind="adamw", lr=0.01, weight_decay=0.1), steps=3)
    assert torch.equal(frozen, before)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown optimizer 'lion': adamw, adam or sgd"):
        Optimizer(network().parameters(), kind="lion", lr=0.01, weight_decay=0.0)


def test_training_a_network_does_not_import_torch_dynamo(tmp_path):
    script = """
import sys
import numpy as np
from regress_core.model.spec import ModelSpec
from regress_core.model.optim import TrainSettings
from regress_core.model.training import fit_network
rng = np.random.default_rng(0)
x = rng.normal(size=(200, 3)).astype("float32")
y = (x[:, 0] * 2).astype("float32")
spec = ModelSpec(kind="mlp", n_features=3, hidden_sizes=(8,))
settings = TrainSettings(max_epochs=2, batch_size=32)
fit_network(spec, settings, x_train=x[:150], y_train=y[:150], x_val=x[150:], y_val=y[150:])
assert "torch._dynamo" not in sys.modules, "training imported torch._dynamo"
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_weight_average_equals_torchs_averaged_model_bit_for_bit():
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(2))
    torch.manual_seed(0)
    edges = compute_bin_edges(x[:, [0, 2, 4]].numpy(), n_bins=6)
    model = TabularMLP(n_features=5, hidden_sizes=[16], ensemble_size=3, bin_edges=edges, embedded=[0, 2, 4])
    ours, theirs = make_ema(model, 0.9), AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9), use_buffers=True)
    assert ours is not None
    optimizer = Optimizer(model.parameters(), kind="adamw", lr=0.01, weight_decay=3e-3)
    for _ in range(25):
        optimizer.zero_grad(set_to_none=True)
        (model(x) - x[:, :1]).pow(2).mean().backward()
        optimizer.step()
        ours.update()
        theirs.update_parameters(model)
    mine, torchs = ours.module.state_dict(), theirs.module.state_dict()
    assert mine.keys() == torchs.keys()
    for name in mine:
        assert torch.equal(mine[name], torchs[name]), name
    assert not torch.equal(mine["head.weight"], model.head.weight)  # an average, not a copy
    # Integer buffers stay as built (AveragedModel averages them in floating point and truncates).
    assert torch.equal(ours.module.embedded_index, model.embedded_index)
    assert torch.equal(ours.module.passed_index, model.passed_index)


def test_the_weight_average_follows_the_network_to_another_device_or_dtype():
    torch.manual_seed(0)
    model = network()
    average = make_ema(model, 0.5)
    assert average is not None
    average.update()
    model.to(torch.float64)  # on a CPU, a change of dtype stands in for a change of device
    average.module.to(torch.float64)
    with torch.no_grad():
        model[0].weight.add_(1.0)
    average.update()
    expected = (model[0].weight - 0.5).detach()  # halfway between the first weights and the moved ones
    assert torch.allclose(average.module[0].weight, expected)


def test_no_decay_means_no_weight_average():
    assert make_ema(network(), 0.0) is None
    with pytest.raises(ValueError, match=r"decay must be in \(0, 1\), got 1.0"):
        WeightAverage(network(), 1.0)

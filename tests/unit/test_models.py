import numpy as np
import pytest
import torch

from regress_core.config import ModelConfig
from regress_core.model.embeddings import PiecewiseLinearEmbeddings, compute_bin_edges
from regress_core.model.networks import LinearRegressor, TabularMLP
from regress_core.model.saving import load_model, save_weights
from regress_core.model.spec import build_model, model_spec


def test_output_shapes():
    x = torch.randn(7, 3)
    assert LinearRegressor(n_features=3)(x).shape == (7, 1)
    assert TabularMLP(n_features=3, hidden_sizes=[8])(x).shape == (7, 1)
    assert TabularMLP(n_features=3, hidden_sizes=[8, 4], ensemble_size=5)(x).shape == (7, 5)
    edges = compute_bin_edges(np.random.default_rng(0).normal(size=(50, 3)), n_bins=6)
    assert TabularMLP(n_features=3, hidden_sizes=[8], ensemble_size=2, bin_edges=edges, embedding_dim=4)(x).shape == (
        7,
        2,
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_features": 0, "hidden_sizes": [4]}, "n_features must be positive"),
        ({"n_features": 2, "hidden_sizes": [0]}, "hidden_sizes must be non-empty and positive"),
        ({"n_features": 2, "hidden_sizes": [4], "dropout": 1.0}, "dropout must be in"),
        ({"n_features": 2, "hidden_sizes": [4], "activation": "nope"}, "activation must be one of"),
        ({"n_features": 2, "hidden_sizes": [4], "ensemble_size": 0}, "ensemble_size must be positive"),
    ],
)
def test_bad_arguments_are_refused_at_once(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TabularMLP(**kwargs)


def test_piecewise_linear_encoding_fills_bins_in_order():
    edges = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
    module = PiecewiseLinearEmbeddings(bin_edges=edges, dim=2)
    encoded = module.encode(torch.tensor([[1.5], [-1.0], [4.0]]))
    torch.testing.assert_close(encoded[0, 0], torch.tensor([1.0, 0.5, 0.0]))
    torch.testing.assert_close(encoded[1, 0], torch.tensor([-1.0, 0.0, 0.0]))  # first bin extrapolates below
    torch.testing.assert_close(encoded[2, 0], torch.tensor([1.0, 1.0, 2.0]))  # last bin extrapolates above


@pytest.mark.parametrize("kind", ["linear", "mlp", "embedding_mlp"])
def test_weights_round_trip(tmp_path, kind):
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    spec = model_spec(
        ModelConfig(kind=kind, hidden_sizes=[8], ensemble_size=2, n_bins=4, embedding_dim=3), n_features=3
    )
    model = build_model(spec, x_train=x).eval()
    loaded = load_model(spec, save_weights(model, tmp_path / "m.pt"))
    torch.testing.assert_close(loaded(torch.as_tensor(x)), model(torch.as_tensor(x)))


def test_zero_width_end_bins_are_steps_not_amplifiers():
    # 6 of 10 rows at the maximum: the last quantile bin has zero width.
    x = np.array([[0.0], [1.0], [2.0], [3.0], [5.0], [5.0], [5.0], [5.0], [5.0], [5.0]])
    edges = compute_bin_edges(x, n_bins=4)
    assert edges[0, -1] == edges[0, -2]
    module = PiecewiseLinearEmbeddings(bin_edges=edges, dim=2)
    encoded = module.encode(torch.tensor([[7.0], [5.0], [-3.0]]))
    torch.testing.assert_close(encoded[0], encoded[1])  # past the maximum encodes as the maximum
    assert encoded[2, 0, 0] < 0  # the first bin has width, so it still extrapolates below
    assert encoded.abs().max() <= 10

import json

import numpy as np
import pytest
import torch

from regress_core.config import ModelConfig
from regress_core.model.build import build_model
from regress_core.model.embeddings import PiecewiseLinearEmbeddings, compute_bin_edges
from regress_core.model.layers import Dropout, cheap_dropout
from regress_core.model.networks import EnsembleLinear, LinearRegressor, TabularMLP
from regress_core.model.saving import load_model, save_weights
from regress_core.model.spec import ModelSpec, feature_view, model_spec


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


def test_embedding_every_input_builds_the_weights_it_always_built():
    # The parameters of the model before inputs could pass through, in their creation order.
    x = np.random.default_rng(0).normal(size=(60, 3)).astype("float32")
    edges = compute_bin_edges(x, n_bins=5)
    torch.manual_seed(0)
    embeddings = PiecewiseLinearEmbeddings(bin_edges=edges, dim=4)
    signs = torch.randint(0, 2, (3, 12)).float() * 2 - 1
    layer = torch.nn.Linear(12, 8)
    head = EnsembleLinear(k=3, in_features=8, out_features=1)
    torch.manual_seed(0)
    model = TabularMLP(n_features=3, hidden_sizes=[8], ensemble_size=3, bin_edges=edges, embedding_dim=4)
    expected = {
        "embeddings.weight": embeddings.weight,
        "embeddings.bias": embeddings.bias,
        "member_scale": signs,
        "backbone.0.weight": layer.weight,
        "backbone.0.bias": layer.bias,
        "head.weight": head.weight,
        "head.bias": head.bias,
    }
    got = dict(model.named_parameters())
    assert set(got) == set(expected)
    for name, want in expected.items():
        torch.testing.assert_close(got[name], want, rtol=0, atol=0)


def test_inputs_left_out_of_the_embeddings_pass_through():
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    x[:, 3] = x[:, 3] > 0
    spec = ModelSpec(
        kind="embedding_mlp",
        n_features=4,
        hidden_sizes=(8,),
        ensemble_size=2,
        n_bins=4,
        embedding_dim=3,
        embedded=(0, 2),
    )
    model = build_model(spec, x_train=x)
    assert model.embeddings.bin_edges.shape == (2, 5)
    assert model.backbone[0].in_features == 2 * 3 + 2
    assert model(torch.as_tensor(x)).shape == (40, 2)


FOLD_SPECS = [
    ModelSpec(kind="linear", n_features=3, n_folds=4),
    ModelSpec(kind="mlp", n_features=3, hidden_sizes=(8, 4), ensemble_size=1, n_folds=4),
    ModelSpec(
        kind="embedding_mlp",
        n_features=3,
        hidden_sizes=(8,),
        ensemble_size=3,
        n_bins=4,
        embedding_dim=2,
        embedded=(0, 1),
        n_folds=4,
    ),
    ModelSpec(kind="linear", n_features=3, view="standard"),
]


@pytest.mark.parametrize("spec", FOLD_SPECS, ids=lambda spec: f"{spec.kind}-{spec.n_folds}")
def test_fold_models_and_views_round_trip_through_json_and_weights(tmp_path, spec):
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    edges = torch.sort(torch.randn(spec.n_folds, len(spec.embedded_inputs), (spec.n_bins or 2) + 1), dim=-1).values
    model = build_model(spec, x_train=x, bin_edges=edges if spec.n_folds > 1 else None).eval()
    again = ModelSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    loaded = load_model(again, save_weights(model, tmp_path / "m.pt"))
    torch.testing.assert_close(loaded(torch.as_tensor(x)), model(torch.as_tensor(x)), rtol=0, atol=0)
    members = spec.n_folds * spec.ensemble_size
    assert model(torch.as_tensor(x)).shape == (40, members)


def test_fold_model_predictions_do_not_depend_on_the_rows_predicted_together():
    spec = FOLD_SPECS[2]
    model = build_model(spec, bin_edges=torch.sort(torch.randn(4, 2, 5), dim=-1).values).eval()
    x = torch.randn(300, 3)
    torch.testing.assert_close(model(x)[:123].mean(1), model(x[:123]).mean(1), rtol=0, atol=0)


def test_fold_models_take_encodings_of_fold_rows_only():
    model = build_model(FOLD_SPECS[2], bin_edges=torch.sort(torch.randn(4, 2, 5), dim=-1).values).eval()
    rows = torch.randn(4, 10, 3)
    encoded = model.encode_inputs(rows)
    assert encoded.shape == (4, 10, 2, 4)
    torch.testing.assert_close(model(rows, encoded), model(rows), rtol=0, atol=0)
    with pytest.raises(ValueError, match="encodings go with fold rows"):
        model(rows[0], encoded[0])


def test_specs_of_older_packages_still_load():
    old = ModelSpec.from_dict(
        {"kind": "embedding_mlp", "n_features": 8, "hidden_sizes": [256, 256], "ensemble_size": 8, "n_bins": 96}
    )
    assert old.embedded is None
    assert old.embedded_inputs == list(range(8))
    assert old.n_folds == 1
    assert old.view == "configured"
    assert old.embedding_dim == 16


def test_a_linear_model_reads_standardised_features_and_networks_the_configured_ones():
    assert [feature_view(kind) for kind in ("linear", "mlp", "embedding_mlp")] == [
        "standard",
        "configured",
        "configured",
    ]
    specs = [
        model_spec(ModelConfig(kind=kind, hidden_sizes=[8], ensemble_size=2), n_features=3)
        for kind in ("linear", "mlp")
    ]
    assert [spec.view for spec in specs] == ["standard", "configured"]
    with pytest.raises(ValueError, match="kind must be one of"):
        feature_view("auto")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cheap_dropout_keeps_each_activation_with_one_minus_p_and_rescales_the_survivors(dtype):
    torch.manual_seed(0)
    h = torch.full((1000, 1000), 2.0, dtype=dtype, requires_grad=True)
    out = cheap_dropout(h, 0.2)
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.8) < 0.002
    scale = torch.tensor(65536 / (65536 - 13107), dtype=dtype)  # 1 / (1 - p), p rounded to 13107 / 65536
    assert torch.all(out[kept] == 2 * scale)
    assert out.dtype == dtype
    out.sum().backward()
    assert torch.equal(h.grad != 0, kept)  # only the survivors pass a gradient back
    # Masks differ from call to call and from activation to activation: two independent
    # draws agree with probability 0.8^2 + 0.2^2 = 0.68.
    again = cheap_dropout(h.detach(), 0.2) != 0
    assert abs((again == kept).float().mean().item() - 0.68) < 0.01
    assert abs((kept[:, ::2] == kept[:, 1::2]).float().mean().item() - 0.68) < 0.01
    assert abs((kept[:, :-4] == kept[:, 4:]).float().mean().item() - 0.68) < 0.01


def test_cheap_dropout_rescales_in_the_activations_precision_as_torchs_cpu_dropout_does():
    h = torch.ones(10_000, dtype=torch.bfloat16)
    ours, theirs = cheap_dropout(h, 0.1), torch.nn.functional.dropout(h, 0.1, True)
    assert ours[ours != 0].unique().tolist() == theirs[theirs != 0].unique().tolist() == [1.109375]


def test_cheap_dropout_close_to_one_drops_almost_everything_without_dividing_by_zero():
    out = cheap_dropout(torch.ones(100_000), 1 - 1e-9)
    assert torch.isfinite(out).all()
    assert (out != 0).sum().item() < 20
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.0"):
        Dropout(1.0)
    assert repr(Dropout(0.2)) == "Dropout(p=0.2)"


def test_a_network_drops_activations_in_training_mode_only():
    torch.manual_seed(0)
    model = TabularMLP(n_features=3, hidden_sizes=[64, 64], dropout=0.3, ensemble_size=2)
    x = torch.randn(16, 3)
    assert not torch.equal(model(x), model(x))
    model.eval()
    assert torch.equal(model(x), model(x))
    assert sum(isinstance(layer, Dropout) for layer in model.backbone) == 2
    assert not any(isinstance(layer, Dropout) for layer in TabularMLP(n_features=3, hidden_sizes=[8]).backbone)

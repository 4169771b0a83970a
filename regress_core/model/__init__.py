"""PyTorch models: networks, embeddings, budgets, candidates and selection, the training loop, saving and loading.

The names below are what the rest of regress may use; the other names in these modules
are the package's internals.
"""

from regress_core.model.budget import Budget, plan_budget
from regress_core.model.choice import CandidateScore
from regress_core.model.device import native_bfloat16, resolve_device, resolve_precision, threads_for
from regress_core.model.embeddings import PiecewiseLinearEmbeddings, compute_bin_edges
from regress_core.model.fold_network import FoldStackedMLP
from regress_core.model.loop import EpochRecord
from regress_core.model.networks import LinearRegressor, TabularMLP
from regress_core.model.predict import predict_scaled
from regress_core.model.saving import load_model, save_weights
from regress_core.model.selection import Selection, TableViews, candidate_names, select_model
from regress_core.model.spec import ModelSpec, build_model, model_spec
from regress_core.model.training import TrainResult, train_model

__all__ = [
    "Budget",
    "CandidateScore",
    "EpochRecord",
    "FoldStackedMLP",
    "LinearRegressor",
    "ModelSpec",
    "PiecewiseLinearEmbeddings",
    "Selection",
    "TableViews",
    "TabularMLP",
    "TrainResult",
    "build_model",
    "candidate_names",
    "compute_bin_edges",
    "load_model",
    "model_spec",
    "native_bfloat16",
    "plan_budget",
    "predict_scaled",
    "resolve_device",
    "resolve_precision",
    "save_weights",
    "select_model",
    "threads_for",
    "train_model",
]

"""PyTorch models: networks, embeddings, budgets, candidates and selection, the training loop, saving and loading.

The names below are what the rest of regress may use; the other names in these modules
are the package's internals.
"""

from regress_core.faces import public_face

__all__, __getattr__ = public_face(
    __name__,
    {
        "budget": ["Budget", "plan_budget"],
        "build": ["build_model"],
        "choice": ["CandidateScore"],
        "device": ["native_bfloat16", "resolve_device", "resolve_precision", "threads_for"],
        "embeddings": ["PiecewiseLinearEmbeddings", "compute_bin_edges"],
        "fold_network": ["FoldStackedMLP"],
        "loop": ["EpochRecord"],
        "networks": ["LinearRegressor", "TabularMLP"],
        "predict": ["predict_scaled"],
        "saving": ["load_model", "save_weights"],
        "selection": ["Selection", "TableViews", "candidate_names", "select_model"],
        "spec": ["ModelSpec", "model_spec"],
        "training": ["TrainResult", "train_model"],
    },
)

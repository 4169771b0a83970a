"""Predicting a batch with a model package, at the precision the job asks for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from regress_core.errors import ConfigError
from regress_core.model.device import resolve_precision
from regress_core.registry.package import ModelPackage

PRECISIONS = ("auto", "float32", "bfloat16")


def scoring_precision(choice: str, package: ModelPackage) -> torch.dtype:
    """The dtype of the network's matrix products while scoring, chosen like `train.precision`.

    "auto" takes bfloat16 where the model's device computes it natively (CPUs with AVX512-BF16
    or AMX, recent GPUs) and float32 elsewhere, and float32 for a closed-form linear model,
    whose one product has nothing to gain; "float32" and "bfloat16" are taken as given.
    """
    if choice not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {choice!r}")
    if choice == "auto" and package.spec.kind == "linear":
        return torch.float32
    return resolve_precision(choice, next(package.model.parameters()).device)


def predict_batch(package: ModelPackage, numeric: pd.DataFrame, dtype: torch.dtype) -> np.ndarray:
    """The package's predictions for the valid rows of a batch; an empty array for none.

    Args:
        package: A loaded model package.
        numeric: The batch's feature columns, as `check_batch` gives them.
        dtype: The dtype of the network's matrix products (see `scoring_precision`).

    Returns:
        Predictions, shape (n_rows,).
    """
    return package.predict(numeric, precision=dtype) if len(numeric) else np.empty(0)

"""k-fold cross-validation of one network kind, its fold models trained side by side.

Every optimizer step draws `batch_size` rows from each fold's training part (each fold
walks its own permutation) and trains all fold models at once (`FoldStackedMLP`); each
fold model is early-stopped on its own held-out rows, so its out-of-fold predictions are
honest validation predictions. The fold models, each at its best check, are kept together
as the final model: their mean predicts (no refit, which would need a step count chosen
without a stopping set).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn

from regress_core.model.build import build_model
from regress_core.model.device import resolve_device, resolve_precision
from regress_core.model.embeddings import compute_bin_edges
from regress_core.model.loop import EpochRecord, Inputs, call_network, encode_once, train_loop
from regress_core.model.optim import TrainSettings
from regress_core.model.spec import ModelSpec

Folds = list[tuple[np.ndarray, np.ndarray]]


@dataclass
class FoldResult:
    """Fold models after training, each at its own best check, and their out-of-fold predictions.

    Attributes:
        model: The fold models in one module; its mean prediction averages them.
        oof: Out-of-fold predictions in scaled target units, one per row of the pooled data.
        history: Pooled out-of-fold MSE (and mean training loss) at every check.
        best_epochs: Each fold model's best epoch.
        stopped_early: Whether training stopped because every fold model ran out of patience.
    """

    model: nn.Module
    spec: ModelSpec
    oof: np.ndarray
    history: list[EpochRecord]
    best_epochs: list[int]
    stopped_early: bool
    device: str
    precision: str


@dataclass(frozen=True)
class FoldBatches:
    """Each fold's training rows, drawn side by side: every step takes `batch` rows of every fold.

    Each fold walks its own permutation of its training rows, wrapping around, so an epoch
    of the largest fold's length visits every row of every fold at least once.

    Attributes:
        x: Inputs of all pooled rows, shape (n_rows, n_features), on the training device.
        y: Targets of all pooled rows, shape (n_rows,).
        train_index: Each fold's training row indices.
        batch: Rows per fold and step.
        encoded: Each fold model's encoding of every pooled row, (K, n_rows, n_embedded,
            n_bins) (`FoldStackedMLP.encode_inputs`), or None: the network encodes each batch.
    """

    x: torch.Tensor
    y: torch.Tensor
    train_index: list[torch.Tensor]
    batch: int
    encoded: torch.Tensor | None = None

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(max(len(index) for index in self.train_index) / self.batch)

    def epoch(self, generator: torch.Generator) -> Iterator[tuple[Inputs, torch.Tensor]]:
        """Batches (K, batch, n_features) and (K, batch): fold f's rows at position f.

        With encodings, the inputs are the rows and fold f's encodings of its rows.
        """
        perms = [index[torch.randperm(len(index), generator=generator)] for index in self.train_index]
        folds = torch.arange(len(perms), device=self.x.device)[:, None]
        for position in range(self.steps_per_epoch):
            offsets = torch.arange(position * self.batch, (position + 1) * self.batch)
            rows = torch.stack([perm[offsets % len(perm)] for perm in perms]).to(self.x.device)  # (K, batch)
            if self.encoded is None:
                yield self.x[rows], self.y[rows]
            else:
                yield (self.x[rows], self.encoded[folds, rows]), self.y[rows]


@dataclass(frozen=True)
class HeldOut:
    """Each fold's held-out rows, padded to one length by repeating rows; the mask leaves the repeats out.

    Attributes:
        x: Shape (K, n_val, n_features).
        y: Shape (K, n_val).
        mask: Shape (K, n_val): 1 for a held-out row, 0 for a repeat.
        encoded: Fold f's encodings of its held-out rows, (K, n_val, n_embedded, n_bins), or
            None: the network encodes them at every check.
    """

    x: torch.Tensor
    y: torch.Tensor
    mask: torch.Tensor
    encoded: torch.Tensor | None = None

    @classmethod
    def of(cls, x: torch.Tensor, y: torch.Tensor, folds: Folds) -> HeldOut:
        """The held-out rows of `folds` among the pooled rows `x` (n_rows, n_features) and `y` (n_rows,)."""
        n_val = max(len(held) for _, held in folds)
        index = torch.stack([torch.as_tensor(np.resize(held, n_val)) for _, held in folds]).to(x.device)
        mask = torch.stack([torch.arange(n_val) < len(held) for _, held in folds]).float().to(x.device)
        return cls(x=x[index], y=y[index], mask=mask)

    def __call__(self, model: nn.Module) -> tuple[torch.Tensor, float]:
        """Each fold model's MSE on its held-out rows, shape (K,), and their pooled MSE."""
        model.eval()
        inputs = self.x if self.encoded is None else (self.x, self.encoded)
        with torch.inference_mode():
            predicted = call_network(model, inputs).mean(dim=2)
            fold_mse = ((predicted - self.y) ** 2 * self.mask).sum(1) / self.mask.sum(1)
        model.train()
        pooled = float((fold_mse * self.mask.sum(1)).sum() / self.mask.sum())
        return fold_mse, pooled


def fit_folds(
    spec: ModelSpec,
    settings: TrainSettings,
    *,
    x: np.ndarray,
    y: np.ndarray,
    folds: Folds,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    candidate: str = "",
) -> FoldResult:
    """Train one model per fold at once; early-stop each on its held-out rows.

    Args:
        spec: The architecture, with n_folds = len(folds).
        settings: Optimisation settings; batch_size is per fold model.
        x: Inputs of all pooled rows, shape (n_rows, n_features).
        y: Scaled targets of all pooled rows.
        folds: (training indices, held-out indices) per fold; the held-out parts cover the rows.
        on_epoch: Called after every validation check.
        candidate: Name put in the epoch records.

    Raises:
        TrainingError: if the loss becomes NaN or infinite.
    """
    if spec.n_folds != len(folds) or len(folds) < 2:
        raise ValueError(f"spec has {spec.n_folds} folds, got {len(folds)} fold index pairs")
    device = resolve_device(settings.device)
    precision = resolve_precision(settings.precision, device)
    torch.manual_seed(settings.seed)
    edges = _fold_bin_edges(spec, x, folds)
    model = build_model(spec, bin_edges=edges).to(device)
    xt = torch.tensor(x, dtype=torch.float32, device=device)
    yt = torch.tensor(y, dtype=torch.float32, device=device)
    batch = min(settings.batch_size, min(len(train) for train, _ in folds))
    train_index = [torch.as_tensor(train) for train, _ in folds]
    held_out = HeldOut.of(xt, yt, folds)
    # Every fold model's encodings of every pooled row, and of its held-out rows.
    encoded = encode_once(model, xt.unsqueeze(0).expand(len(folds), -1, -1), held_out.x)
    pooled_encoded, held_encoded = encoded if encoded is not None else (None, None)
    held_out = replace(held_out, encoded=held_encoded)
    batches = FoldBatches(x=xt, y=yt, train_index=train_index, batch=batch, encoded=pooled_encoded)
    run = train_loop(model, batches, held_out, settings, precision=precision, on_epoch=on_epoch, candidate=candidate)
    final = build_model(spec, bin_edges=edges)
    final.load_state_dict({name: tensor.cpu() for name, tensor in run.best_state.items()})
    final.eval()
    return FoldResult(
        model=final,
        spec=spec,
        oof=_out_of_fold(final, held_out.x.cpu(), folds, n_rows=len(y)),
        history=run.history,
        best_epochs=run.best_epochs,
        stopped_early=run.stopped_early,
        device=str(device),
        precision=str(precision).removeprefix("torch."),
    )


def _fold_bin_edges(spec: ModelSpec, x: np.ndarray, folds: Folds) -> torch.Tensor | None:
    """Each fold's embedding bins, fitted on its training rows: (K, n_embedded, n_bins + 1), or None."""
    embedded = spec.embedded_inputs
    if not embedded:
        return None
    n_bins = spec.n_bins or 2
    return torch.stack([compute_bin_edges(x[train][:, embedded], n_bins=n_bins) for train, _ in folds])


def _out_of_fold(model: nn.Module, held_x: torch.Tensor, folds: Folds, *, n_rows: int) -> np.ndarray:
    """Each row's prediction by the fold model that held it out, from the padded held-out inputs (K, n_val, f)."""
    oof = np.full(n_rows, np.nan, dtype=np.float32)
    with torch.inference_mode():
        held = model(held_x).mean(dim=2).numpy()
    for fold, (_, rows_out) in enumerate(folds):
        oof[rows_out] = held[fold, : len(rows_out)]
    return oof

"""k-fold cross-validation of one network kind, its fold models trained side by side.

Every optimizer step draws `batch_size` rows from each fold's training part (each fold
walks its own permutation) and trains all fold models at once (`FoldStackedMLP`); each
fold model is early-stopped on its own held-out rows, so its out-of-fold predictions are
honest validation predictions. The fold models, each at its best check, are kept together
as the final model: their mean predicts (no refit, which would need a step count chosen
without a stopping set).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from regress_core.errors import TrainingError
from regress_core.failpoints import failpoint
from regress_core.model.device import resolve_device, resolve_precision
from regress_core.model.embeddings import compute_bin_edges
from regress_core.model.optim import TrainSettings, check_finite, lr_at, make_ema, make_optimizer
from regress_core.model.spec import ModelSpec, build_model
from regress_core.model.training import EpochRecord

Folds = list[tuple[np.ndarray, np.ndarray]]


@dataclass
class FoldResult:
    """Fold models after training, each at its own best check, and their out-of-fold predictions.

    Attributes:
        model: The fold models in one module; its mean prediction averages them.
        oof: Out-of-fold predictions in scaled target units, one per row of the pooled data.
        history: Pooled out-of-fold MSE (and mean training loss) at every check.
        best_epochs: Each fold model's best epoch.
        stopped_early: Whether every fold stopped improving before the last epoch.
    """

    model: nn.Module
    spec: ModelSpec
    oof: np.ndarray
    history: list[EpochRecord]
    best_epochs: list[int]
    stopped_early: bool
    device: str
    precision: str


def _elementwise_loss(settings: TrainSettings, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if settings.loss == "mae":
        return (prediction - target).abs()
    if settings.loss == "huber":
        return nn.functional.huber_loss(prediction, target, reduction="none", delta=settings.huber_delta)
    return (prediction - target) ** 2


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
    dtype = resolve_precision(settings.precision, device)
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    embedded = spec.embedded_inputs
    edges = None
    if embedded:
        n_bins = spec.n_bins or 2
        edges = torch.stack([compute_bin_edges(x[train][:, embedded], n_bins=n_bins) for train, _ in folds])
    model = build_model(spec, bin_edges=edges).to(device)
    xt = torch.tensor(x, dtype=torch.float32, device=device)
    yt = torch.tensor(y, dtype=torch.float32, device=device)
    sizes = [len(train) for train, _ in folds]
    batch = min(settings.batch_size, min(sizes))
    steps_per_epoch = math.ceil(max(sizes) / batch)
    total_steps = steps_per_epoch * settings.max_epochs
    train_index = [torch.as_tensor(train) for train, _ in folds]
    n_val = max(len(held) for _, held in folds)
    # Held-out parts padded to one length by repeating rows; the mask leaves the repeats out.
    val_index = torch.stack([torch.as_tensor(np.resize(held, n_val)) for _, held in folds]).to(device)
    val_mask = torch.stack([torch.arange(n_val) < len(held) for _, held in folds]).float().to(device)
    xv, yv = xt[val_index], yt[val_index]
    optimizer = make_optimizer(model, settings)
    ema = make_ema(model, settings.ema_decay)
    scored = ema.module if ema is not None else model
    k_folds = len(folds)
    best_loss = torch.full((k_folds,), math.inf, device=device)
    best_state = copy.deepcopy(scored.state_dict())
    best_epochs, waited = [0] * k_folds, torch.zeros(k_folds, dtype=torch.long, device=device)
    history: list[EpochRecord] = []
    step, total, started, epoch = 0, 0.0, time.perf_counter(), 0
    for epoch in range(1, settings.max_epochs + 1):
        model.train()
        perms = [index[torch.randperm(len(index), generator=generator)] for index in train_index]
        epoch_loss = torch.zeros((), device=device)
        for position in range(steps_per_epoch):
            offsets = torch.arange(position * batch, (position + 1) * batch)
            rows = torch.stack([perm[offsets % len(perm)] for perm in perms]).to(device)  # (K, batch)
            for group in optimizer.param_groups:
                group["lr"] = lr_at(settings, step, total_steps)
            with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
                prediction = model(xt[rows]).float()  # (K, batch, k)
            loss = _elementwise_loss(settings, prediction, yt[rows].unsqueeze(-1)).mean(dim=(1, 2)).sum()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if ema is not None:
                ema.update_parameters(model)
            epoch_loss += loss.detach()
            step += 1
        total += float(epoch_loss) / (k_folds * steps_per_epoch)
        check_finite(total, epoch, settings)
        if epoch % settings.eval_every and epoch != settings.max_epochs:
            continue
        scored.eval()
        with torch.inference_mode():
            fold_val = ((scored(xv).mean(dim=2) - yv) ** 2 * val_mask).sum(1) / val_mask.sum(1)
        scored.train()
        pooled = float((fold_val * val_mask.sum(1)).sum() / val_mask.sum())
        check_finite(pooled, epoch, settings)
        since = epoch - (history[-1].epoch if history else 0)
        record = EpochRecord(
            epoch, total / since, pooled, lr_at(settings, step, total_steps), time.perf_counter() - started, candidate
        )
        history.append(record)
        total, started = 0.0, time.perf_counter()
        if on_epoch is not None:
            on_epoch(record)
        failpoint("train:epoch")
        improved = fold_val < best_loss - 1e-7
        waited = torch.where(improved, 0, waited + 1)
        best_loss = torch.where(improved, fold_val, best_loss)
        if bool(improved.any()):
            _keep_best(best_state, scored.state_dict(), improved, k_folds)
            for fold in torch.nonzero(improved).flatten().tolist():
                best_epochs[fold] = epoch
        if settings.patience and bool((waited >= settings.patience_checks).all()):
            break
    if not history:
        raise TrainingError("training ran no epoch")
    final = build_model(spec, bin_edges=edges)
    final.load_state_dict({name: tensor.cpu() for name, tensor in best_state.items()})
    final.eval()
    oof = np.full(len(y), np.nan, dtype=np.float32)
    with torch.inference_mode():
        held = final(xv.cpu()).mean(dim=2).numpy()
    for fold, (_, rows_out) in enumerate(folds):
        oof[rows_out] = held[fold, : len(rows_out)]
    return FoldResult(
        model=final,
        spec=spec,
        oof=oof,
        history=history,
        best_epochs=best_epochs,
        stopped_early=epoch < settings.max_epochs,
        device=str(device),
        precision=str(dtype).removeprefix("torch."),
    )


def _keep_best(best: dict[str, torch.Tensor], current: dict[str, torch.Tensor], improved: torch.Tensor, k: int) -> None:
    """Copy the improved folds' slices of every per-fold tensor into the best state."""
    for name, tensor in current.items():
        if tensor.dim() and tensor.shape[0] == k and name in best:
            best[name][improved] = tensor[improved].detach().clone()

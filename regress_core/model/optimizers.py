"""AdamW, Adam and SGD written out, so that training never imports torch.compile's machinery.

Making the first torch.optim optimizer imports torch._dynamo (about 1 s on a 2-core CPU, as
much as a small table's whole training). These follow torch's single-tensor updates
operation for operation (`_single_tensor_adam` in torch/optim/adam.py, `_single_tensor_sgd`
in sgd.py, at their defaults: no amsgrad, no Nesterov, no dampening), so the weights after
each step equal torch.optim's bit for bit on the CPU (tests/unit/test_optimizers.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

BETAS = (0.9, 0.999)
EPS = 1e-8


class Optimizer:
    """One parameter group, updated in place by `step`; its learning rate is `param_groups[0]["lr"]`.

    Args:
        params: The parameters to train (those that do not require a gradient are left alone).
        kind: "adamw" (decoupled weight decay), "adam" (weight decay added to the gradient) or "sgd".
        lr: Learning rate; the training loop sets it before every step.
        weight_decay: Weight decay.
        momentum: SGD's momentum (0: plain SGD).
    """

    def __init__(
        self, params: Iterable[torch.Tensor], *, kind: str, lr: float, weight_decay: float, momentum: float = 0.0
    ) -> None:
        if kind not in ("adamw", "adam", "sgd"):
            raise ValueError(f"unknown optimizer {kind!r}: adamw, adam or sgd")
        self.kind, self.weight_decay, self.momentum = kind, weight_decay, momentum
        self.params = [param for param in params if param.requires_grad]
        self.param_groups: list[dict[str, Any]] = [{"lr": lr, "params": self.params}]
        self.state: dict[torch.Tensor, dict[str, Any]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for param in self.params:
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """Update every parameter that has a gradient."""
        lr = float(self.param_groups[0]["lr"])
        for param in self.params:
            if param.grad is None:
                continue
            if self.kind == "sgd":
                self._sgd(param, param.grad, lr)
            else:
                self._adam(param, param.grad, lr)

    def _adam(self, param: torch.Tensor, grad: torch.Tensor, lr: float) -> None:
        state = self.state.get(param)
        if state is None:
            state = self.state[param] = {
                "step": torch.tensor(0.0, dtype=torch.get_default_dtype()),
                "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
                "exp_avg_sq": torch.zeros_like(param, memory_format=torch.preserve_format),
            }
        beta1, beta2 = BETAS
        state["step"] += 1
        if self.weight_decay != 0:
            if self.kind == "adamw":
                param.mul_(1 - lr * self.weight_decay)
            else:
                grad = grad.add(param, alpha=self.weight_decay)
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = state["step"].item()
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = lr / bias_correction1
        denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(EPS)
        param.addcdiv_(exp_avg, denom, value=-step_size)

    def _sgd(self, param: torch.Tensor, grad: torch.Tensor, lr: float) -> None:
        if self.weight_decay != 0:
            grad = grad.add(param, alpha=self.weight_decay)
        if self.momentum != 0:
            state = self.state.setdefault(param, {})
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.detach().clone()
            else:
                buffer.mul_(self.momentum).add_(grad, alpha=1)
            grad = buffer
        param.add_(grad, alpha=-lr)

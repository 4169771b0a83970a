"""AdamW, Adam and SGD written out, so that training never imports torch.compile's machinery.

Making the first torch.optim optimizer imports torch._dynamo (about 1 s on a 2-core CPU, as
much as a small table's whole training). These follow torch's single-tensor updates
operation for operation (`_single_tensor_adam` in torch/optim/adam.py, `_single_tensor_sgd`
in sgd.py, at their defaults: no amsgrad, no Nesterov, no dampening), so the weights after
each step equal torch.optim's bit for bit on the CPU (tests/unit/test_optimizers.py). Adam's
step applies each operation to every parameter at once (`torch._foreach_*`, as
`_multi_tensor_adam` does): the same arithmetic per element, in a tenth of the calls, which
is most of a step's cost for the small networks of small tables.
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
        pairs = [(param, param.grad) for param in self.params if param.grad is not None]
        if self.kind == "sgd":
            for param, grad in pairs:
                self._sgd(param, grad, lr)
        elif pairs:
            self._adam([param for param, _ in pairs], [grad for _, grad in pairs], lr)

    def _adam(self, params: list[torch.Tensor], grads: list[torch.Tensor], lr: float) -> None:
        """One Adam or AdamW step of every parameter with a gradient; each keeps its own step count."""
        states = []
        for param in params:
            state = self.state.get(param)
            if state is None:
                state = self.state[param] = {
                    "step": 0,
                    "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(param, memory_format=torch.preserve_format),
                }
            state["step"] += 1
            states.append(state)
        beta1, beta2 = BETAS
        if self.weight_decay != 0:
            if self.kind == "adamw":
                torch._foreach_mul_(params, 1 - lr * self.weight_decay)
            else:
                grads = list(torch._foreach_add(grads, params, alpha=self.weight_decay))
        exp_avgs = [state["exp_avg"] for state in states]
        exp_avg_sqs = [state["exp_avg_sq"] for state in states]
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
        steps = [float(state["step"]) for state in states]
        step_sizes = [-(lr / (1 - beta1**step)) for step in steps]
        denoms = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denoms, [(1 - beta2**step) ** 0.5 for step in steps])
        torch._foreach_add_(denoms, EPS)
        torch._foreach_addcdiv_(params, exp_avgs, denoms, step_sizes)

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

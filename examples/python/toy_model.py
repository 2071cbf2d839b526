"""A small PyTorch classifier for the examples: a two-layer MLP on a synthetic two-class set.

It runs on the worker's device: cuda:0 where a GPU is visible (a worker sees only its MIG slice, which is cuda:0
because migctl set CUDA_VISIBLE_DEVICES before Python started), else the CPU (Debian's python3-torch on the
simulator). On the CPU each worker uses one thread, so that seven workers do not fight over a few cores.
"""

from __future__ import annotations

import torch
from torch import nn

DEVICE = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
if DEVICE.type == "cpu":
    torch.set_num_threads(1)


def dataset(seed: int = 0, n: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """Points in [-1, 1]^2 labelled by a noisy line; the same seed gives the same set on any device."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=gen) * 2 - 1
    noise = torch.randn(n, generator=gen) * 0.25
    y = (0.8 * x[:, 0] - 0.5 * x[:, 1] + 0.1 + noise > 0).long()
    return x.to(DEVICE), y.to(DEVICE)


def fit(data: tuple[torch.Tensor, torch.Tensor], epochs: int, lr: float, seed: int = 0) -> nn.Module:
    """Full-batch Adam on the MLP; returns the trained model (on DEVICE)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2)).to(DEVICE)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = data
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    return model


@torch.no_grad()
def accuracy(model: nn.Module, data: tuple[torch.Tensor, torch.Tensor]) -> float:
    x, y = data
    return (model(x).argmax(dim=1) == y).float().mean().item()


def split(data: tuple[torch.Tensor, torch.Tensor], at: int) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    x, y = data
    return (x[:at], y[:at]), (x[at:], y[at:])

"""A CPU-only stand-in for a training job: logistic regression by gradient descent on a fixed synthetic set.

It imports nothing GPU-related; on a real machine the body would be torch code, and
CUDA_VISIBLE_DEVICES (set by migctl run before the worker started) would give it its MIG slice as cuda:0.
"""

from __future__ import annotations

import math
import random


def dataset(seed: int = 0, n: int = 400) -> list[tuple[float, float, int]]:
    rng = random.Random(seed)
    points = []
    for _ in range(n):
        x, y = rng.uniform(-1, 1), rng.uniform(-1, 1)
        label = 1 if 0.8 * x - 0.5 * y + 0.1 + rng.gauss(0, 0.25) > 0 else 0
        points.append((x, y, label))
    return points


def _predict(w: list[float], x: float, y: float) -> float:
    z = w[0] * x + w[1] * y + w[2]
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def fit(points: list[tuple[float, float, int]], epochs: int, lr: float) -> list[float]:
    w = [0.0, 0.0, 0.0]
    for _ in range(epochs):
        grad = [0.0, 0.0, 0.0]
        for x, y, label in points:
            err = _predict(w, x, y) - label
            grad[0] += err * x
            grad[1] += err * y
            grad[2] += err
        w = [wi - lr * gi / len(points) for wi, gi in zip(w, grad)]
    return w


def accuracy(w: list[float], points: list[tuple[float, float, int]]) -> float:
    right = sum(1 for x, y, label in points if (_predict(w, x, y) > 0.5) == bool(label))
    return right / len(points)

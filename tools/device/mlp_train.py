#!/usr/bin/env python3
"""The training example of Skyward's MIG guide, made heavier so the GPU matters: an MLP on 5,000 random
MNIST-shaped samples, batch 128, Adam. Defaults: 784-4096-4096-10, 40 epochs. Prints one JSON line last
(samples/s, wall time, final loss), which `migctl run` reports as the task's output. `train()` is the same work
as a function, for persistent workers (bench/python_pool.py). Without CUDA it runs on the CPU.

    python3 tools/device/mlp_train.py [--epochs 40] [--width 4096]
"""
import argparse
import json
import os
import time


def train(epochs=40, width=4096, samples=5000, batch=128, seed=0):
    """One training; returns the JSON line's fields. Imports torch on the first call only (as Python does)."""
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    x = torch.randn(samples, 784, device=dev)
    y = torch.randint(0, 10, (samples,), device=dev)
    model = nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                          nn.Linear(width, 10)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    sync()
    t1 = time.perf_counter()
    loss = None
    for _ in range(epochs):
        perm = torch.randperm(samples, device=dev)
        for i in range(0, samples, batch):
            idx = perm[i:i + batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    sync()
    t2 = time.perf_counter()
    return {
        "samples_per_s": round(samples * epochs / (t2 - t1), 1),
        "train_s": round(t2 - t1, 3),
        "setup_s": round(t1 - t0, 3),
        "final_loss": round(loss.item(), 4),
        "device": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
        "worker": os.environ.get("MIGCTL_WORKER"),
        "pid": os.getpid(),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--width", type=int, default=4096)
    p.add_argument("--samples", type=int, default=5000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    print(json.dumps(train(a.epochs, a.width, a.samples, a.batch, a.seed)))


if __name__ == "__main__":
    main()

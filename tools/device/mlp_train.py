#!/usr/bin/env python3
"""The training example of Skyward's MIG guide, made heavier so the GPU matters: an MLP on 5,000 random
MNIST-shaped samples, batch 128, Adam. Defaults: 784-4096-4096-10, 40 epochs. Prints one JSON line last
(samples/s, wall time, final loss), which `migctl run` reports as the task's output.

    python3 tools/device/mlp_train.py [--epochs 40] [--width 4096]
"""
import argparse
import json
import os
import time

import torch
import torch.nn as nn


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--width", type=int, default=4096)
    p.add_argument("--samples", type=int, default=5000)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    dev = torch.device("cuda")
    t0 = time.perf_counter()
    x = torch.randn(a.samples, 784, device=dev)
    y = torch.randint(0, 10, (a.samples,), device=dev)
    model = nn.Sequential(nn.Linear(784, a.width), nn.ReLU(), nn.Linear(a.width, a.width), nn.ReLU(),
                          nn.Linear(a.width, 10)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    torch.cuda.synchronize()
    t1 = time.perf_counter()
    loss = None
    for _ in range(a.epochs):
        perm = torch.randperm(a.samples, device=dev)
        for i in range(0, a.samples, a.batch):
            idx = perm[i:i + a.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            opt.step()
    torch.cuda.synchronize()
    t2 = time.perf_counter()
    print(json.dumps({
        "samples_per_s": round(a.samples * a.epochs / (t2 - t1), 1),
        "train_s": round(t2 - t1, 3),
        "setup_s": round(t1 - t0, 3),
        "final_loss": round(loss.item(), 4),
        "device": os.environ.get("CUDA_VISIBLE_DEVICES", ""),
        "worker": os.environ.get("MIGCTL_WORKER"),
    }))


if __name__ == "__main__":
    main()

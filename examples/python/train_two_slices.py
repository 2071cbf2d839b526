"""Two independent trainings, each on its own 3g.40gb slice (Skyward's mig plugin, first use).

    migctl sim init h100.json h100-80gb:1 && MIGCTL_SIM=h100.json python3 train_two_slices.py   (simulated GPUs)
    python3 train_two_slices.py                                         (a real H100/H200 with MIG available)
Creates the two slices if they are missing and removes them afterwards (ephemeral=True). Needs PyTorch.
"""

from __future__ import annotations

import json

import migctl


def train(seed: int, epochs: int, lr: float) -> dict:
    import toy_model  # imports torch: once per worker, on its first task

    info = migctl.worker_info()  # which slice this worker is pinned to (cuda:0 inside the worker)
    train_set, test_set = toy_model.split(toy_model.dataset(seed), 384)
    model = toy_model.fit(train_set, epochs, lr, seed=seed)
    return {"seed": seed, "worker": info.index, "device": info.device, "torch_device": str(toy_model.DEVICE),
            "acc": round(toy_model.accuracy(model, test_set), 3)}


if __name__ == "__main__":
    with migctl.Pool(profile="3g.40gb", workers=2, create=True, ephemeral=True) as pool:
        pool.wait_ready(timeout=120)  # both trainings start at once, each on its own slice
        for result in pool.imap_unordered(train, [dict(seed=s, epochs=200, lr=1e-2) for s in (1, 2)]):
            print(json.dumps(result), flush=True)

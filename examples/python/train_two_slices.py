"""Two independent trainings, each on its own 3g.40gb slice (Skyward's mig plugin, first use).

    MIGCTL_SIM=./h100.json python3 train_two_slices.py   (a simulated machine: migctl sim init h100.json h100-80gb:1)
    python3 train_two_slices.py                         (a real H100/H200 with MIG available)
Creates the two slices if they are missing and removes them afterwards (ephemeral=True).
"""

from __future__ import annotations

import json

import migctl
import toy_model


def train(seed: int, epochs: int, lr: float) -> dict:
    info = migctl.worker_info()  # which slice this worker is pinned to
    points = toy_model.dataset(seed)
    weights = toy_model.fit(points[:300], epochs, lr)
    return {"seed": seed, "worker": info.index, "device": info.device,
            "acc": round(toy_model.accuracy(weights, points[300:]), 3)}


if __name__ == "__main__":
    with migctl.Pool(profile="3g.40gb", workers=2, create=True, ephemeral=True) as pool:
        pool.wait_ready(timeout=120)  # both trainings start at once, each on its own slice
        for result in pool.imap_unordered(train, [dict(seed=s, epochs=60, lr=1.0) for s in (1, 2)]):
            print(json.dumps(result), flush=True)

"""A hyper-parameter sweep on two 3g.40gb slices that keeps the best run (Skyward's mig plugin, third use).

Results stream back as they finish; each worker serves several configurations without restarting.
"""

from __future__ import annotations

import itertools
import json

import migctl
import toy_model


def train(epochs: int, lr: float) -> dict:
    points = toy_model.dataset(seed=7)
    weights = toy_model.fit(points[:300], epochs, lr)
    return {"epochs": epochs, "lr": lr, "device": migctl.worker_info().device,
            "acc": round(toy_model.accuracy(weights, points[300:]), 3)}


if __name__ == "__main__":
    configs = [dict(epochs=e, lr=lr) for e, lr in itertools.product((5, 40), (0.01, 0.1, 1.0))]
    with migctl.Pool(profile="3g.40gb", workers=2, create=True, ephemeral=True) as pool:
        results = []
        for result in pool.imap_unordered(train, configs):
            print(json.dumps(result), flush=True)
            results.append(result)
    best = max(results, key=lambda r: r["acc"])
    print(json.dumps({"best": best}))

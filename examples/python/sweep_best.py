"""A hyper-parameter sweep on two 3g.40gb slices that keeps the best run (Skyward's mig plugin, third use).

Results stream back as they finish; each worker serves several configurations without restarting, so torch is
imported (and CUDA started) once per worker, not once per configuration. Needs PyTorch.
"""

from __future__ import annotations

import itertools
import json
import os

import migctl


def train(epochs: int, lr: float) -> dict:
    import toy_model

    train_set, test_set = toy_model.split(toy_model.dataset(seed=7), 384)
    model = toy_model.fit(train_set, epochs, lr, seed=7)
    return {"epochs": epochs, "lr": lr, "device": migctl.worker_info().device, "pid": os.getpid(),
            "acc": round(toy_model.accuracy(model, test_set), 3)}


if __name__ == "__main__":
    configs = [dict(epochs=e, lr=lr) for e, lr in itertools.product((5, 200), (1e-4, 1e-3, 1e-2))]
    with migctl.Pool(profile="3g.40gb", workers=2, create=True, ephemeral=True) as pool:
        results = []
        for result in pool.imap_unordered(train, configs):
            print(json.dumps(result), flush=True)
            results.append(result)
    best = max(results, key=lambda r: r["acc"])
    print(json.dumps({"best": best}))

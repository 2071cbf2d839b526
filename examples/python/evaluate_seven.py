"""Seven evaluations at once, one per 1g.10gb slice of one GPU (Skyward's mig plugin, second use).

A persistent worker loads its model once (the initializer) and evaluates the shard it is given.
"""

from __future__ import annotations

import json
import time

import migctl
import toy_model

_model: list[float] = []


def load_model() -> None:
    """Runs once in each worker before its first task: the place for torch.load(...).to("cuda")."""
    _model[:] = toy_model.fit(toy_model.dataset(0), epochs=80, lr=1.0)


def evaluate(shard: int) -> dict:
    info = migctl.worker_info()
    points = toy_model.dataset(seed=100 + shard, n=200)
    time.sleep(0.2)  # stands in for the GPU time of a real evaluation
    return {"shard": shard, "device": info.device, "profile": info.profile,
            "acc": round(toy_model.accuracy(_model, points), 3)}


if __name__ == "__main__":
    with migctl.Pool(profile="1g.10gb", workers=7, create=True, ephemeral=True, initializer=load_model) as pool:
        pool.wait_ready(timeout=120)  # seven workers, each with its model loaded
        results = pool.map(evaluate, range(7))
    for result in results:
        print(json.dumps(result))
    print(json.dumps({"mean_acc": round(sum(r["acc"] for r in results) / len(results), 3)}))

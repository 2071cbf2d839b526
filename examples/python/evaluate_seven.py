"""Seven evaluations at once, one per 1g.10gb slice of one GPU (Skyward's mig plugin, second use).

A persistent worker loads its model once (the initializer: where torch.load(...).to("cuda") would go) and then
evaluates the shard it is given. Needs PyTorch.
"""

from __future__ import annotations

import json

import migctl

_model: list = []


def load_model() -> None:
    """Runs once in each worker before its first task."""
    import toy_model

    train_set, _ = toy_model.split(toy_model.dataset(0), 384)
    _model[:] = [toy_model.fit(train_set, epochs=200, lr=1e-2)]


def evaluate(shard: int) -> dict:
    import toy_model

    info = migctl.worker_info()
    acc = toy_model.accuracy(_model[0], toy_model.dataset(seed=100 + shard, n=2000))
    return {"shard": shard, "device": info.device, "profile": info.profile, "acc": round(acc, 3)}


if __name__ == "__main__":
    with migctl.Pool(profile="1g.10gb", workers=7, create=True, ephemeral=True, initializer=load_model) as pool:
        ready = pool.wait_ready(timeout=300)  # seven workers, each on its own slice with its model loaded
        results = pool.map(evaluate, range(7))
    print(json.dumps({"workers": [w.device for w in ready]}))
    for result in results:
        print(json.dumps(result))
    print(json.dumps({"mean_acc": round(sum(r["acc"] for r in results) / len(results), 3)}))

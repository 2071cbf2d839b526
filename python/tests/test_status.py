"""status() returns what `migctl --json status` says, as dataclasses."""

from __future__ import annotations

import json

import migctl
from conftest import migctl_cmd


def test_status_matches_the_json_of_the_binary(machine: str) -> None:
    doc = json.loads(migctl_cmd("--sim", machine, "--json", "status"))
    gpus = migctl.status(sim=machine)
    assert len(gpus) == len(doc["gpus"]) == 1
    gpu, raw = gpus[0], doc["gpus"][0]
    assert (gpu.index, gpu.uuid, gpu.name, gpu.model, gpu.pci_bus_id) == (
        raw["index"], raw["uuid"], raw["name"], raw["model"], raw["pci_bus_id"])
    assert gpu.memory_total_mib == raw["memory"]["total_mib"]
    assert gpu.mig == migctl.MigMode(current=True, pending=True)
    assert [(i.profile, i.gi, i.ci, i.start, i.size, i.uuid, i.memory_mib) for i in gpu.instances] == [
        (i["profile"], i["gi"], i["ci"], i["start"], i["size"], i["uuid"], i["memory_mib"])
        for i in raw["instances"]]
    assert [i.profile for i in gpu.instances] == ["3g.40gb", "3g.40gb"]
    assert all(i.uuid and i.uuid.startswith("MIG-") for i in gpu.instances)
    assert gpu.free == raw["free"] and gpu.free["3g.40gb"] == 0


def test_status_of_a_gpu_with_mig_off(bare_machine: str) -> None:
    (gpu,) = migctl.status(0, sim=bare_machine)
    assert gpu.mig == migctl.MigMode(current=False, pending=False)
    assert gpu.instances == [] and gpu.processes == [] and gpu.free is None


def test_status_reports_migctl_errors(machine: str) -> None:
    try:
        migctl.status(5, sim=machine)
    except migctl.MigctlError as error:
        assert "5" in str(error)
    else:
        raise AssertionError("status of a missing GPU did not fail")

"""`migctl status` as dataclasses: GPUs, their MIG mode, instances (with MIG UUIDs), processes, free room."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence, Union

from ._binary import run_json


@dataclass(frozen=True)
class Process:
    """A process NVML shows on a GPU or MIG device."""

    pid: int
    name: str
    used_mib: Optional[int]


@dataclass(frozen=True)
class Instance:
    """A GPU instance (with its compute instance, if any) of a MIG-enabled GPU."""

    profile: str
    profile_id: int
    gi: int
    ci: Optional[int]
    start: int
    size: int
    uuid: Optional[str]  # MIG-…; None when the GPU instance has no compute instance
    memory_mib: Optional[int]
    memory_used_mib: Optional[int]
    processes: list[Process] = field(default_factory=list)


@dataclass(frozen=True)
class MigMode:
    current: bool
    pending: bool


@dataclass(frozen=True)
class Gpu:
    """One GPU as `migctl --json status` reports it."""

    index: int
    uuid: str
    name: str
    model: Optional[str]  # built-in model key (h100-80gb), None when migctl does not know the GPU
    pci_bus_id: str
    memory_total_mib: int
    memory_used_mib: int
    mig: Optional[MigMode]  # None: the GPU has no MIG
    instances: list[Instance]
    processes: list[Process]  # whole-GPU processes; empty when MIG is on (see the instances)
    free: Optional[dict[str, int]]  # how many more of each profile fit; None when MIG is off


def _processes(items: Optional[list[dict[str, Any]]]) -> list[Process]:
    return [Process(pid=p["pid"], name=p["name"], used_mib=p.get("used_mib")) for p in items or []]


def _gpu(doc: dict[str, Any]) -> Gpu:
    mig = doc.get("mig")
    return Gpu(
        index=doc["index"],
        uuid=doc["uuid"],
        name=doc["name"],
        model=doc.get("model"),
        pci_bus_id=doc["pci_bus_id"],
        memory_total_mib=doc["memory"]["total_mib"],
        memory_used_mib=doc["memory"]["used_mib"],
        mig=MigMode(current=mig["current"], pending=mig["pending"]) if mig else None,
        instances=[
            Instance(
                profile=i["profile"],
                profile_id=i["profile_id"],
                gi=i["gi"],
                ci=i.get("ci"),
                start=i["start"],
                size=i["size"],
                uuid=i.get("uuid"),
                memory_mib=i.get("memory_mib"),
                memory_used_mib=i.get("memory_used_mib"),
                processes=_processes(i.get("processes")),
            )
            for i in doc.get("instances", [])
        ],
        processes=_processes(doc.get("processes")),
        free=dict(doc["free"]) if doc.get("free") is not None else None,
    )


def status(
    gpus: Union[None, int, str, Sequence[Union[int, str]]] = None,
    *,
    sim: Optional[str] = None,
    migctl: Optional[str] = None,
) -> list[Gpu]:
    """The GPUs of this machine (or of the simulated one in `sim`), from `migctl --json status`.

    gpus selects as `-i` does (indexes, ranges, UUIDs, PCI ids); raises MigctlError when migctl fails.
    """
    args = ["status"]
    if gpus is not None:
        args += ["-i", gpu_list(gpus)]
    doc = run_json(args, sim=sim, binary=migctl)
    return [_gpu(g) for g in doc["gpus"]]


def gpu_list(gpus: Union[int, str, Sequence[Union[int, str]]]) -> str:
    """A `-i` argument from 0, "0-1" or [0, 1]."""
    if isinstance(gpus, (int, str)):
        return str(gpus)
    return ",".join(str(g) for g in gpus)

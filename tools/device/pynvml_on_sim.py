#!/usr/bin/env python3
"""nvidia-ml-py, unchanged, reading a simulated H100 through libmigsim.so.

Run with LD_LIBRARY_PATH pointing at a folder where libnvidia-ml.so.1 -> libmigsim.so and MIGSIM_STATE set to a
machine made by `migctl sim init STATE h100-80gb:1` with MIG on and some instances. Argument: that machine's
`migctl status --json` output, the expected MIG devices. Prints one line per check; exits 1 if any failed.
"""
import ctypes
import json
import sys

import pynvml as nv

# The real H100 80GB HBM3 (tests/fixtures/hardware/h100-80gb-hbm3.nvml-profiles.txt, driver 580.159.04):
# index -> (profile id, slices, instances, SMs, memory MiB, name, placement starts, placement size)
RECORDED = {
    0: (19, 1, 7, 16, 9984, "MIG 1g.10gb", [0, 1, 2, 3, 4, 5, 6], 1),
    1: (14, 2, 3, 32, 20096, "MIG 2g.20gb", [0, 2, 4], 2),
    2: (9, 3, 2, 60, 40448, "MIG 3g.40gb", [0, 4], 4),
    3: (5, 4, 1, 64, 40448, "MIG 4g.40gb", [0], 4),
    4: (0, 7, 1, 132, 81152, "MIG 7g.80gb", [0], 8),
    7: (20, 1, 1, 16, 9984, "MIG 1g.10gb+me", [0, 1, 2, 3, 4, 5, 6], 1),
    9: (15, 1, 4, 26, 20096, "MIG 1g.20gb", [0, 2, 4, 6], 2),
}

failures = 0


def check(what, got, want):
    global failures
    ok = got == want
    failures += 0 if ok else 1
    print(f"{'PASS' if ok else 'FAIL'} {what}: {got!r}" + ("" if ok else f" (want {want!r})"))


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def placements(handle, profile_id):
    count = ctypes.c_uint(0)
    nv.nvmlDeviceGetGpuInstancePossiblePlacements(handle, profile_id, None, ctypes.byref(count))
    array = (nv.c_nvmlGpuInstancePlacement_t * count.value)()
    nv.nvmlDeviceGetGpuInstancePossiblePlacements(handle, profile_id, array, ctypes.byref(count))
    return [(p.start, p.size) for p in array[: count.value]]


def main():
    expected = json.load(open(sys.argv[1]))["gpus"][0]
    nv.nvmlInit()
    print("nvidia-ml-py", getattr(nv, "__version__", "?"), "driver", text(nv.nvmlSystemGetDriverVersion()))
    check("device count", nv.nvmlDeviceGetCount(), 1)
    h = nv.nvmlDeviceGetHandleByIndex(0)
    check("name", text(nv.nvmlDeviceGetName(h)), "NVIDIA H100 80GB HBM3")
    check("uuid", text(nv.nvmlDeviceGetUUID(h)), expected["uuid"])
    check("mig mode", [int(x) for x in nv.nvmlDeviceGetMigMode(h)], [1, 1])
    for index in range(0x12):
        try:
            info = nv.nvmlDeviceGetGpuInstanceProfileInfo(h, index)
        except nv.NVMLError_NotSupported:
            check(f"index {index}", "Not Supported", "Not Supported" if index not in RECORDED else "supported")
            continue
        except nv.NVMLError_InvalidArgument:
            check(f"index {index}", "Invalid Argument", "supported" if index in RECORDED else "Not Supported")
            continue
        pid, slices, count, sms, mem, name, starts, size = RECORDED.get(index, (None,) * 8)
        got = (info.id, info.sliceCount, info.instanceCount, info.multiprocessorCount, info.memorySizeMB)
        check(f"index {index} profile", got, (pid, slices, count, sms, mem))
        if hasattr(info, "name"):
            check(f"index {index} name", text(info.name), name)
        check(f"profile {pid} placements", placements(h, info.id), [(s, size) for s in starts])
    devices = []
    for i in range(nv.nvmlDeviceGetMaxMigDeviceCount(h)):
        try:
            m = nv.nvmlDeviceGetMigDeviceHandleByIndex(h, i)
        except nv.NVMLError_NotFound:
            continue
        devices.append((nv.nvmlDeviceGetGpuInstanceId(m), nv.nvmlDeviceGetComputeInstanceId(m),
                        text(nv.nvmlDeviceGetUUID(m)), nv.nvmlDeviceGetMemoryInfo(m).total // (1 << 20)))
    want = sorted((x["gi"], x["ci"], x["uuid"], x["memory_mib"]) for x in expected["instances"] if x["uuid"])
    check("MIG devices (gi, ci, uuid, MiB)", sorted(devices), want)
    for gi, _, _, _ in devices:
        info = nv.nvmlGpuInstanceGetInfo(nv.nvmlDeviceGetGpuInstanceById(h, gi))
        inst = next(x for x in expected["instances"] if x["gi"] == gi)
        check(f"GI {gi} placement", (info.placement.start, info.placement.size), (inst["start"], inst["size"]))
    nv.nvmlShutdown()
    print("pynvml on migsim:", "OK" if failures == 0 else f"{failures} FAILED")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

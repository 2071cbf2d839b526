"""Started by test_pool.py: a pool whose tasks leave a grandchild running, then waits for Ctrl-C."""

import subprocess
import sys
import time

import migctl


def start_grandchild() -> int:
    # A process the task starts and does not wait for: it belongs to the worker's tree all the same.
    return subprocess.Popen(["sleep", "300"], start_new_session=True).pid


def block() -> None:
    time.sleep(300)


if __name__ == "__main__":
    with migctl.Pool(profile="3g.40gb", workers=2, sim=sys.argv[1], grace=1) as pool:
        pool.wait_ready(timeout=30)
        grandchildren = [pool.submit(start_grandchild).result() for _ in range(2)]
        blocked = [pool.submit(block) for _ in range(2)]
        print(pool.endpoint, *grandchildren, flush=True)
        time.sleep(300)

#!/usr/bin/env python3
"""Times whole commands, interleaved round-robin so drift hits all alike; prints median and spread per command.

usage: time_commands.py RUNS NAME=COMMAND [NAME=COMMAND ...]     (COMMAND is split on spaces; no shell)
"""
import statistics
import subprocess
import sys
import time


def main():
    runs = int(sys.argv[1])
    commands = [arg.split("=", 1) for arg in sys.argv[2:]]
    samples = {name: [] for name, _ in commands}
    for name, cmd in commands:  # one warm-up each
        subprocess.run(cmd.split(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    for _ in range(runs):
        for name, cmd in commands:
            t0 = time.perf_counter()
            subprocess.run(cmd.split(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            samples[name].append((time.perf_counter() - t0) * 1e3)
    base = statistics.median(samples[commands[0][0]])
    print(f"{'command':<28} {'median ms':>10} {'p10':>8} {'p90':>8} {'ratio':>7}  (runs={runs})")
    for name, _ in commands:
        s = sorted(samples[name])
        med = statistics.median(s)
        print(f"{name:<28} {med:>10.2f} {s[len(s) // 10]:>8.2f} {s[(9 * len(s)) // 10]:>8.2f} {med / base:>7.2f}")


if __name__ == "__main__":
    main()

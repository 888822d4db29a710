#!/usr/bin/env python3
"""Python overhead of a read: the same full read + verify of an in-process simulated
card, timed from Python (``zairyu.open_simulator(...).read(...)``, the whole call
including the ``ReadResult``) and from Rust (``zairyu bench``, cli/src/bench.rs, the
core's read alone), per card type. A benchmark run by hand, not a test: it prints
the figures and asserts nothing.

    python3 python/bench.py [--iterations N] [--rounds R] [--card-type T ...] [--zairyu BIN]

Needs the wheel installed (``pip install target/wheels/zairyu-*.whl``, a release
build) and the release CLI (``cargo build --release -p zairyu-cli``; ``--zairyu`` or
``ZAIRYU_BIN``, default ``target/release/zairyu``). Both figures are host CPU time per
read (the simulated card runs in the same process, on the same thread), the best of
R rounds of N reads each, so that other load on the machine disturbs them little.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Tuple

import zairyu

NUMBER = "AB12345678CD"
REPO = Path(__file__).resolve().parents[1]


def python_per_read(card_type: str, iterations: int, rounds: int) -> Tuple[float, float]:
    """Best (CPU ms, wall ms) per read over `rounds` rounds, reading as a user does."""
    best_cpu = best_wall = float("inf")
    with zairyu.open_simulator(card_type, NUMBER) as card:
        for _ in range(3):  # warm-up: caches, allocator, first-use costs
            card.read(NUMBER)
        for _ in range(rounds):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for _ in range(iterations):
                result = card.read(NUMBER)
            cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
            assert result.verification.signature == "valid", result
            best_cpu = min(best_cpu, cpu * 1e3 / iterations)
            best_wall = min(best_wall, wall * 1e3 / iterations)
    return best_cpu, best_wall


ROW = re.compile(r"^(\S+)\s+\S+\s+\d+\s+\d+\s+\d+\s+([\d.]+) ms\s+([\d.]+) ms")


def rust_per_read(binary: str, card_type: str, iterations: int, rounds: int) -> Tuple[float, float]:
    """Best (CPU ms, wall ms) per read from `zairyu bench` over `rounds` runs."""
    best_cpu = best_wall = float("inf")
    for _ in range(rounds):
        out = subprocess.run(
            [binary, "bench", "--iterations", str(iterations), "--card-type", card_type],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows = [m for m in map(ROW.match, out.splitlines()) if m]
        if len(rows) != 1:
            raise SystemExit(f"unexpected `zairyu bench` output:\n{out}")
        best_cpu = min(best_cpu, float(rows[0].group(2)))
        best_wall = min(best_wall, float(rows[0].group(3)))
    return best_cpu, best_wall


def main(argv: List[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--iterations", type=int, default=200, help="reads per round (default 200)")
    p.add_argument("--rounds", type=int, default=5, help="rounds; the best one counts (default 5)")
    p.add_argument("--card-type", action="append", dest="types", help="1, 2, 05, 06 (default: all)")
    p.add_argument("--zairyu", default=os.environ.get("ZAIRYU_BIN", str(REPO / "target/release/zairyu")))
    a = p.parse_args(argv)
    types = a.types or ["1", "2", "05", "06"]
    print(f"zairyu {zairyu.__version__}: full read + verify of the in-process simulator, host CPU per read")
    print(f"best of {a.rounds} rounds x {a.iterations} reads; Rust: `{a.zairyu} bench`\n")
    print(f"{'type':<5} {'Rust CPU/read':>14} {'Python CPU/read':>16} {'overhead':>9} {'Rust wall':>11} {'Python wall':>12}")
    for t in types:
        r_cpu, r_wall = rust_per_read(a.zairyu, t, a.iterations, a.rounds)
        p_cpu, p_wall = python_per_read(t, a.iterations, a.rounds)
        over = (p_cpu / r_cpu - 1) * 100
        print(f"{t:<5} {r_cpu:>11.3f} ms {p_cpu:>13.3f} ms {over:>+8.1f}% {r_wall:>8.3f} ms {p_wall:>9.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

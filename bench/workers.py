"""Benchmark: the api with ``API_WORKERS=1`` against ``API_WORKERS=2``, side by side.

One durable PostgreSQL on this machine (``bench/suite.py``'s stack) and two api
services on it: one process, and a supervisor with two workers on one port. The
create+reveal load (wrk, concurrency 32) goes to one at a time, in interleaved
rounds; each figure is the median over the rounds, the ratio the median of the
ratios within a round. CPU seconds come from ``/proc``: every api process's (the
supervisor's and its workers'), PostgreSQL's, and wrk's share is what is left of
the machine. Reproduce with:

    make bench-workers
    BENCH_ROUNDS=5 BENCH_SECONDS=20 make bench-workers
"""

from __future__ import annotations

import os
import statistics
import subprocess
from pathlib import Path

from bench.compare import postgres_cpu, process_cpu
from bench.suite import CONCURRENCY, ROUNDS, SECONDS, run_wrk, running_stack
from tools.net import free_port, wait_for_http


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _api_cpu(pid: int) -> float:
    return process_cpu(pid) + sum(process_cpu(child) for child in _children(pid))


def main() -> None:
    with running_stack() as (bench, single, _):
        port = free_port()
        env = {**bench.env, "HTTP_PORT": str(port), "API_WORKERS": "2"}
        log = (bench.folder / "api-2.log").open("wb")
        double = subprocess.Popen([str(bench.bin_dir / "burnafter"), "api"], env=env, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/readyz", double)
            postmaster = int((bench.folder / "postgres" / "postmaster.pid").read_text().split()[0])
            sides = {"1 worker": (bench.base, single.pid), "2 workers": (base, double.pid)}
            pairs: dict[str, list[float]] = {name: [] for name in sides}
            api_cpu: dict[str, list[float]] = {name: [] for name in sides}
            pg_cpu: dict[str, list[float]] = {name: [] for name in sides}
            for number in range(1, ROUNDS + 1):
                order = list(sides) if number % 2 else list(sides)[::-1]
                for name in order:
                    url, pid = sides[name]
                    api_before, pg_before = _api_cpu(pid), postgres_cpu(postmaster)
                    figures = run_wrk(url, bench.lua_env)
                    seconds = figures["seconds"]
                    pairs[name].append(figures["revealed"] / seconds)
                    api_cpu[name].append((_api_cpu(pid) - api_before) / seconds)
                    pg_cpu[name].append((postgres_cpu(postmaster) - pg_before) / seconds)
        finally:
            double.terminate()
            double.wait(timeout=30)
    ratios = [two / one for one, two in zip(pairs["1 worker"], pairs["2 workers"], strict=True)]
    print(f"\nburnafter api, 1 worker against 2: concurrency {CONCURRENCY}, {ROUNDS} "
          f"interleaved rounds of {SECONDS} s, {os.cpu_count()} cores shared with "
          "PostgreSQL and wrk")  # fmt: skip
    print(f"{'':36} {'pairs/s':>10} {'api cores':>10} {'PostgreSQL cores':>17}")
    for name, values in pairs.items():
        api, pg = statistics.median(api_cpu[name]), statistics.median(pg_cpu[name])
        print(f"{name:36} {statistics.median(values):10.0f} {api:10.2f} {pg:17.2f}")
    print(f"{'2 workers / 1 worker':36} {statistics.median(ratios):9.2f}x")
    print(f"reproduce: BENCH_ROUNDS={ROUNDS} BENCH_SECONDS={SECONDS} make bench-workers")


if __name__ == "__main__":
    main()

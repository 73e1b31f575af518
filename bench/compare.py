"""Benchmark: this checkout's api against another commit's, side by side.

``make bench-compare REF=<commit>`` checks REF out in its own worktree
(``.bench/<sha>/``) with its own virtualenv (its ``requirements-runtime.lock``),
then starts two identical stacks (``bench/suite.py``'s: a durable PostgreSQL of
its own, ``burnafter api``, ``burnafter reaper``), one from each tree, each
migrated by its own code. The load comes from this checkout's wrk script at
concurrency 32 and goes to one stack at a time, in interleaved rounds (REF first
in odd rounds, this checkout first in even ones), so the machine's noise falls on
both alike. Each figure is the median over the rounds, and each ratio the median
of the ratios taken within a round. CPU seconds are read from ``/proc``: the api
process's, and PostgreSQL's (the postmaster, its children, and the children it
reaped during the run). Each side seeds the secrets it reveals with its own
``bench/seed.py``, so a change of schema stays fair. Reproduce with:

    make bench-compare REF=0c59407
    BENCH_ROUNDS=5 BENCH_SECONDS=20 make bench-compare REF=0c59407
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.suite import (
    CONCURRENCY,
    ROUNDS,
    SECONDS,
    Bench,
    peak_rss_mb,
    run_wrk,
    running_stack,
)

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench"
TICKS = os.sysconf("SC_CLK_TCK")
REVEAL_STOCK = 10_000 * SECONDS  # secrets seeded for a reveal-only run: 10,000/s of headroom
# The side's own seeding, run by its own Python from its own tree.
SEED = """
import asyncio, sys
from bench.seed import seed
url, count, expires_in, verifier, ciphertext = sys.argv[1:]
ids = asyncio.run(seed(url, int(count), expires_in=int(expires_in),
                       claim_verifier=bytes.fromhex(verifier),
                       ciphertext=bytes.fromhex(ciphertext)))
sys.stdout.write("\\n".join(ids) + "\\n")
"""


@dataclass(frozen=True)
class Side:
    """One tree under test: where its code is and the virtualenv that runs it."""

    name: str
    root: Path
    bin_dir: Path


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


def ref_side(ref: str) -> Side:
    """REF in ``.bench/<sha>/``, a worktree with its own virtualenv, made once."""
    sha = git("rev-parse", "--verify", f"{ref}^{{commit}}")
    tree = CACHE / sha
    if not (tree / ".git").exists():
        git("worktree", "prune")
        git("worktree", "add", "--detach", "--force", str(tree), sha)
    venv = tree / ".venv"
    ready = venv / ".ready"
    if not ready.exists():
        print(f"preparing {sha[:7]}'s virtualenv in {venv}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--require-hashes", "-r", str(tree / "requirements-runtime.lock")],
                       check=True)  # fmt: skip
        subprocess.run([*pip, "--no-deps", str(tree)], check=True, cwd=tree)
        ready.touch()
    return Side(f"REF {sha[:7]}", tree, venv / "bin")


def _stat(pid: int) -> list[int]:
    """utime, stime, cutime, cstime of a process, in clock ticks; zeros once gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return [0, 0, 0, 0]
    fields = text.rpartition(")")[2].split()
    return [int(value) for value in fields[11:15]]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0


def process_cpu(pid: int) -> float:
    utime, stime, _, _ = _stat(pid)
    return (utime + stime) / TICKS


def postgres_cpu(postmaster: int) -> float:
    """CPU seconds of a PostgreSQL server: the postmaster, the backends and workers
    it runs, and those it has reaped."""
    total = sum(_stat(postmaster))
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent(int(entry.name)) == postmaster:
            utime, stime, _, _ = _stat(int(entry.name))
            total += utime + stime
    return total / TICKS


@dataclass
class Stack:
    """A side's running stack, and what is read of it around each run."""

    side: Side
    bench: Bench
    api_pid: int

    @property
    def postmaster(self) -> int:
        pid_file = self.bench.folder / "postgres" / "postmaster.pid"
        return int(pid_file.read_text().split()[0])

    def cpu(self) -> tuple[float, float]:
        return process_cpu(self.api_pid), postgres_cpu(self.postmaster)

    def seed(self, count: int, expires_in: int) -> Path:
        """``count`` live secrets seeded by the side's own code; the file of their ids."""
        ids = subprocess.run(
            [str(self.side.bin_dir / "python"), "-c", SEED, self.bench.url, str(count),
             str(expires_in), self.bench.claim_verifier.hex(), self.bench.ciphertext.hex()],
            cwd=self.side.root, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        path = self.bench.folder / "ids.txt"
        path.write_text(ids)
        return path

    def run(self, threads: int = 2, **env: str) -> tuple[dict[str, float], float, float]:
        """One wrk run: its figures, and the api's and PostgreSQL's CPU seconds."""
        api_before, pg_before = self.cpu()
        figures = run_wrk(self.bench.base, {**self.bench.lua_env, **env}, threads)
        api_after, pg_after = self.cpu()
        return figures, api_after - api_before, pg_after - pg_before


@dataclass
class Figures:
    """Each figure per side, one value per round, and its ratios within rounds."""

    names: list[str] = field(default_factory=list)
    values: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, name: str, side: str, value: float) -> None:
        if name not in self.names:
            self.names.append(name)
        self.values.setdefault((name, side), []).append(value)


def measure(stack: Stack, figures: Figures) -> None:
    name = stack.side.name
    mixed, api_cpu, pg_cpu = stack.run()
    pairs = mixed["revealed"]
    figures.add("create+reveal pairs/s (>= 2.0x)", name, pairs / mixed["seconds"])
    figures.add("mixed p99 ms (<= 50, <= 0.6x)", name, mixed["p99_ms"])
    figures.add("api CPU ms per pair (<= 0.5x)", name, 1000 * api_cpu / pairs)
    figures.add("PostgreSQL CPU ms per pair (<= 0.6x)", name, 1000 * pg_cpu / pairs)
    # The browser's flow: one connection per wrk thread, so each secret's create,
    # peek and reveal go in turn.
    flow, _, _ = stack.run(threads=CONCURRENCY, BURNAFTER_WITH_PEEK="1")
    figures.add("browser flows/s: create, peek, reveal (>= 2.0x)", name,
                flow["revealed"] / flow["seconds"])  # fmt: skip
    creates, _, _ = stack.run(BURNAFTER_ONLY_CREATE="1")
    figures.add("create p99 ms (<= 50, <= 0.6x)", name, creates["p99_ms"])
    reveals, _, _ = stack.run(BURNAFTER_IDS_FILE=str(stack.seed(REVEAL_STOCK, 3600)))
    figures.add("reveal p99 ms (<= 50, <= 0.6x)", name, reveals["p99_ms"])


def report(figures: Figures, sides: tuple[Side, Side], rss: dict[str, float]) -> None:
    ref, current = sides
    print(f"\nburnafter api: this checkout against {ref.name}, concurrency {CONCURRENCY}, "
          f"{ROUNDS} interleaved rounds of {SECONDS} s per run, "
          f"{os.cpu_count()} cores")  # fmt: skip
    print(f"{'':50} {ref.name:>12} {'this':>12} {'ratio':>8}")
    for name in figures.names:
        before, after = figures.values[(name, ref.name)], figures.values[(name, current.name)]
        ratios = [a / b for a, b in zip(after, before, strict=True) if b]
        print(f"{name:50} {statistics.median(before):12.2f} {statistics.median(after):12.2f} "
              f"{statistics.median(ratios):7.2f}x")  # fmt: skip
    print(f"{'api peak RSS MB under load (<= 150)':50} {rss[ref.name]:12.0f} "
          f"{rss[current.name]:12.0f}")  # fmt: skip
    rounds = f"BENCH_ROUNDS={ROUNDS} BENCH_SECONDS={SECONDS} "
    print(f"reproduce: {rounds}make bench-compare REF={sys.argv[1]}")


@contextlib.contextmanager
def stacks(sides: tuple[Side, ...]) -> Iterator[list[Stack]]:
    with contextlib.ExitStack() as stack:
        running = []
        for side in sides:
            bench, api, _ = stack.enter_context(running_stack(bin_dir=side.bin_dir))
            running.append(Stack(side, bench, api.pid))
        yield running


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python -m bench.compare REF (make bench-compare REF=<commit>)")
    sides = (ref_side(sys.argv[1]), Side("this", ROOT, Path(sys.executable).parent))
    figures = Figures()
    with stacks(sides) as running:
        for number in range(1, ROUNDS + 1):
            print(f"round {number} of {ROUNDS}", file=sys.stderr, flush=True)
            for stack in running if number % 2 else running[::-1]:
                measure(stack, figures)
        rss = {stack.side.name: peak_rss_mb(stack.api_pid) for stack in running}
    report(figures, sides, rss)


if __name__ == "__main__":
    main()

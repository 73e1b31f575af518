"""Where a reveal spends its time: py-spy samples the api process while wrk sends
it nothing but reveals, and this prints the frames that hold the most samples.
Reproduce with:

    make profile
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from collections import Counter
from pathlib import Path

from bench.suite import BIN, REVEAL_STOCK, SECONDS, running_stack

TOP = 30


def frame_name(frame: str) -> str:
    """``reveal (services/store/secrets.py:212)`` -> ``reveal  secrets.py``."""
    function, _, where = frame.partition(" (")
    return f"{function}  {where.split(':')[0].rsplit('/', 1)[-1]}" if where else function


def inclusive_shares(collapsed: str) -> tuple[int, Counter[str]]:
    """Samples in all, and per frame the samples in which it is on the stack."""
    total, shares = 0, Counter[str]()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        for name in {frame_name(frame) for frame in stack.split(";")}:
            shares[name] += int(count)
    return total, shares


def main() -> None:
    with running_stack() as (bench, api, _), tempfile.TemporaryDirectory() as folder:
        ids = Path(folder) / "ids.txt"
        ids.write_text("\n".join(bench.seed(REVEAL_STOCK, 3600)) + "\n")
        load = threading.Thread(target=bench.wrk, kwargs={"BURNAFTER_IDS_FILE": str(ids)})
        load.start()
        out = Path(folder) / "samples.txt"
        subprocess.run(
            [str(BIN / "py-spy"), "record", "--pid", str(api.pid), "--duration",
             str(max(SECONDS - 3, 1)), "--rate", "250", "--format", "raw",
             "--output", str(out)],
            check=True, capture_output=True,
        )  # fmt: skip
        load.join()
        total, shares = inclusive_shares(out.read_text())
    print(f"\napi process under reveal-only load, {total} samples; share of samples in which")
    print("each frame is on the stack (a frame's share includes what it calls):")
    for name, count in shares.most_common(TOP):
        print(f"{100 * count / total:6.1f}%  {name}")
    print("reproduce: make profile")


if __name__ == "__main__":
    main()

"""Running a coroutine from synchronous test code (session fixtures, finalizers)."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine_in_a_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``asyncio.run(make())`` away from any event loop of pytest-asyncio's."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()

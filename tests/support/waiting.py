"""Waiting for something observable to happen, with a deadline, instead of sleeping."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


async def eventually(
    check: Callable[[], Any],
    *,
    seconds: float = 10.0,
    interval: float = 0.02,
    what: str = "",
) -> Any:
    """Call ``check`` (plain or async) until it returns something truthy, and return
    that; fail the test when ``seconds`` pass first. ``interval`` is only the
    polling period: the wait ends as soon as the condition is seen."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {seconds} s: {what or check!r} (last: {value!r})")
        await asyncio.sleep(interval)

"""Bulkheads: a cap on how many threads may wait on one backing system at the same time.

A request thread that calls a hung S3 waits for its timeouts; without a cap, enough of them
hold every worker thread and requests that need only PostgreSQL queue behind them. With one,
the calls past the cap are refused at once (503 with Retry-After), and the other threads stay
free for everything else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Bulkhead:
    """At most `limit` calls inside at once; the next caller gets `refuse()` raised, not a wait."""

    def __init__(self, limit: int, refuse: Callable[[], Exception]) -> None:
        if limit < 1:
            raise ValueError("a bulkhead needs room for at least one call")
        self.limit = limit
        self._refuse = refuse
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self._in_use = 0

    @contextmanager
    def enter(self) -> Iterator[None]:
        """Hold one slot for the duration of the block, or raise if none is free."""
        if not self._slots.acquire(blocking=False):
            raise self._refuse()
        with self._lock:
            self._in_use += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_use -= 1
            self._slots.release()

    @property
    def in_use(self) -> int:
        """Calls inside right now."""
        return self._in_use

    @property
    def full(self) -> bool:
        """Whether the next caller would be refused."""
        return self._in_use >= self.limit

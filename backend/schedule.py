"""Work repeated in the background of `serve`: a daemon thread, jittered, that never crashes.

Every instance runs its own schedule; the jitter keeps instances started together from
sweeping in lockstep (the sweeper is safe either way, just busier).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable

logger = logging.getLogger("backend.schedule")

JITTER = 0.2


class Periodic:
    """Runs `job` about every `interval` seconds (give or take a fifth) until stopped.

    A job that raises is logged and tried again at the next turn; the app never notices.
    """

    def __init__(
        self,
        job: Callable[[], object],
        interval: float,
        *,
        name: str,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if interval <= 0:
            raise ValueError("a periodic job needs a positive interval")
        self.job = job
        self.interval = interval
        self.name = name
        self._jitter = jitter
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Begin; the first run comes after one (jittered) interval."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait a little for a run in progress to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _delay(self) -> float:
        return self.interval * (1 + JITTER * (2 * self._jitter() - 1))

    def _run(self) -> None:
        while not self._stop.wait(self._delay()):
            try:
                self.job()
            except Exception:  # any failure: log it, keep the schedule and the app alive
                logger.exception("%s failed; trying again at the next turn", self.name)

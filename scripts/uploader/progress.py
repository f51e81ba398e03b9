"""Progress bars on stderr, one per transfer, shown only on a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


@dataclass
class Bar:
    """One transfer's progress bar."""

    progress: Progress
    task: TaskID

    def start(self, label: str, total: int) -> None:
        """Start (or restart, on a retry) counting towards `total` bytes."""
        self.progress.reset(self.task, description=label, total=total)

    def show(self, completed: int) -> None:
        """Move the bar to `completed` bytes."""
        self.progress.update(self.task, completed=completed)


class Bars:
    """Progress bars on stderr, one per transfer, or none when stdout is not a terminal."""

    def __init__(self) -> None:
        console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            disable=not (sys.stdout.isatty() and console.is_terminal),
        )

    @contextmanager
    def bar(self, label: str, total: int) -> Iterator[Bar]:
        """A bar for the duration of one file's transfer."""
        task = self.progress.add_task(label, total=total)
        try:
            yield Bar(self.progress, task)
        finally:
            self.progress.remove_task(task)

"""What the upload life reports as it happens, for whoever counts it (the metrics)."""

from __future__ import annotations

from typing import Protocol


class UploadEvents(Protocol):
    """Told once per transition, by the call that made it (never by a repeated confirm)."""

    def initiated(self, method: str) -> None:
        """An upload was announced: POST, PUT or multipart."""

    def confirmed(self, size: int) -> None:
        """A file of `size` bytes became ready."""

    def rejected(self, reason: str) -> None:
        """A file was rejected; `reason` is the first field that differed."""


class Unheard:
    """Events nobody listens to: the default when metrics are off."""

    def initiated(self, method: str) -> None:
        """Nothing."""

    def confirmed(self, size: int) -> None:
        """Nothing."""

    def rejected(self, reason: str) -> None:
        """Nothing."""


UNHEARD = Unheard()

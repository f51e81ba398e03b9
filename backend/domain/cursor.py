"""Opaque listing cursors: the (created_at, id) of the last item a page showed."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime

import msgspec

from backend.errors import InvalidInput


class _Position(msgspec.Struct, array_like=True, frozen=True, forbid_unknown_fields=True):
    created_at: datetime
    id: uuid.UUID


def encode(created_at: datetime, file_id: uuid.UUID) -> str:
    """A URL-safe token for the position just after this item."""
    raw = msgspec.json.encode(_Position(created_at, file_id))
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(token: str) -> tuple[datetime, uuid.UUID]:
    """The position in a token from `encode`, or InvalidInput for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        position = msgspec.json.decode(raw, type=_Position)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise InvalidInput("cursor", "is not a cursor this service issued") from None
    if position.created_at.tzinfo is None:
        raise InvalidInput("cursor", "is not a cursor this service issued")
    return position.created_at, position.id

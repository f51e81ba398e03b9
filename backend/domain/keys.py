"""API keys: random, shown once, stored as a hash, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from backend.db import keys as queries
from backend.db.engine import transaction
from backend.db.tables import ApiKey, Owner, utcnow
from backend.errors import InvalidInput, NotAuthenticated, NotFound

KEY_PREFIX = "stw"
# stw_<key id: 16 base32 chars>_<secret: 43 url-safe chars, 256 bits>
_KEY_FORMAT = re.compile(r"^stw_([a-z2-7]{16})_([A-Za-z0-9_-]{43})$")
_KEY_ID_FORMAT = re.compile(r"^[a-z2-7]{16}$")
# Enough for every key a deployment really uses; past it the cache starts over rather than
# growing (only keys that exist are ever cached, so this is not an attacker's to fill).
_CACHE_ENTRIES = 10_000
# Compared when a key id is unknown, so timing says nothing about which ids exist.
_NO_HASH = "0" * 64


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: the only moment its secret exists outside the caller's hands."""

    id: uuid.UUID
    key_id: str
    owner: str
    key: str


@dataclass(frozen=True)
class KeyInfo:
    """A stored key as listed: never the secret."""

    id: uuid.UUID
    key_id: str
    owner: str
    created_at: datetime
    revoked_at: datetime | None


def _hash(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class _Remembered:
    """What the database said about a key id, and until when that may be repeated."""

    key_hash: str
    owner_id: uuid.UUID
    revoked: bool
    valid_until: float


def _name(owner: Owner) -> str:
    # Keys are only ever issued to named owners; users of an identity provider have none.
    return owner.name or ""


def _new_key_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(secrets.choice(alphabet) for _ in range(16))


class KeyService:
    """Issuing, listing, revoking and checking API keys; each call is its own transaction.

    `authenticate` may answer from memory for up to `cache_seconds` after it last read a key:
    the hash is still compared on every call, and a revocation is seen once that time is up.
    """

    def __init__(
        self,
        engine: sa.Engine,
        *,
        cache_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._clock = clock
        self._cache: dict[str, _Remembered] = {}

    def create(self, owner_name: str) -> IssuedKey:
        """Issue a key for `owner_name`, creating the owner on first use."""
        name = owner_name.strip()
        if not name or len(name) > 200 or not name.isprintable():
            raise InvalidInput("owner", "must be 1-200 printable characters")
        key_id = _new_key_id()
        key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        with transaction(self.engine) as session:
            owner = queries.owner_named(session, name)
            if owner is None:
                owner = Owner(name=name)
                session.add(owner)
                session.flush()
            row = ApiKey(owner_id=owner.id, key_id=key_id, key_hash=_hash(key))
            session.add(row)
            session.flush()
        return IssuedKey(id=row.id, key_id=key_id, owner=name, key=key)

    def list_all(self) -> list[KeyInfo]:
        """Every key, oldest first, with its owner's name."""
        with transaction(self.engine) as session:
            rows = queries.keys_with_owners(session)
        return [
            KeyInfo(key.id, key.key_id, _name(owner), key.created_at, key.revoked_at)
            for key, owner in rows
        ]

    def revoke(self, key_or_id: str) -> KeyInfo:
        """Revoke by the full key, its public key id, or its row id; revoking twice is harmless."""
        text = key_or_id.strip()
        match = _KEY_FORMAT.match(text)
        if match or _KEY_ID_FORMAT.match(text):
            criteria: dict[str, Any] = {"key_id": match.group(1) if match else text}
        else:
            try:
                criteria = {"row_id": uuid.UUID(text)}
            except ValueError:
                raise NotFound(f"No API key matches {text!r}.") from None
        with transaction(self.engine) as session:
            found = queries.key_with_owner(session, **criteria)
            if found is None:
                raise NotFound(f"No API key matches {text!r}.")
            key, owner = found
            if key.revoked_at is None:
                key.revoked_at = utcnow()
                session.add(key)
                session.flush()
        return KeyInfo(key.id, key.key_id, _name(owner), key.created_at, key.revoked_at)

    def authenticate(self, presented: str | None) -> uuid.UUID:
        """The owner id behind a presented key, or NotAuthenticated (one message for all)."""
        match = _KEY_FORMAT.match(presented or "")
        if match is None:
            raise _failure()
        remembered = self._recall(match.group(1))
        if remembered is None:
            remembered = self._read(match.group(1))
        return _check(remembered, presented or "")

    def authenticate_from_memory(self, presented: str | None) -> uuid.UUID | None:
        """Like `authenticate` when the answer needs no database (None when it does).

        Cheap enough to run on the event loop: a regular expression, a dict and one SHA-256.
        """
        match = _KEY_FORMAT.match(presented or "")
        if match is None:
            raise _failure()
        remembered = self._recall(match.group(1))
        return None if remembered is None else _check(remembered, presented or "")

    def _recall(self, key_id: str) -> _Remembered | None:
        remembered = self._cache.get(key_id)
        if remembered is None or self._clock() >= remembered.valid_until:
            return None
        return remembered

    def _read(self, key_id: str) -> _Remembered | None:
        # The clock is read before the query: whatever was committed before it started is
        # seen, so a revocation is honoured at most cache_seconds after its commit.
        read_at = self._clock()
        with transaction(self.engine) as session:
            row = queries.key_by_key_id(session, key_id)
        if row is None:
            return None  # unknown ids are not remembered: a new key works at once
        remembered = _Remembered(
            key_hash=row.key_hash,
            owner_id=row.owner_id,
            revoked=row.revoked_at is not None,
            valid_until=read_at + self.cache_seconds,
        )
        if self.cache_seconds > 0:
            if len(self._cache) >= _CACHE_ENTRIES:
                self._cache.clear()
            self._cache[key_id] = remembered
        return remembered


def _failure() -> NotAuthenticated:
    return NotAuthenticated("A valid API key is required (Authorization: Bearer <key>).")


def _check(remembered: _Remembered | None, presented: str) -> uuid.UUID:
    """The owner, if the presented key hashes to the stored hash and is not revoked."""
    stored = remembered.key_hash if remembered is not None else _NO_HASH
    if not hmac.compare_digest(stored, _hash(presented)) or remembered is None:
        raise _failure()
    if remembered.revoked:
        raise _failure()
    return remembered.owner_id

"""API keys: random, shown once, stored as a hash, compared in constant time; scoped, expiring."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
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
# A key's last use is written at most this often: a busy key must not write on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_LABEL = 200


class Scope(enum.StrEnum):
    """What a credential may do: read only (list, read, download), or upload and delete too.

    Identity providers' access tokens are always read-write: the user owns their files.
    """

    READ = "read"
    READ_WRITE = "read-write"


@dataclass(frozen=True)
class Principal:
    """Who is calling, as the auth guard found them: an owner, and the key used, if any."""

    owner_id: uuid.UUID
    scope: Scope = Scope.READ_WRITE
    # For API keys: the public key id, its label and its expiry; None for access tokens.
    key_id: str | None = None
    label: str | None = None
    expires_at: datetime | None = None


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
    scope: str = Scope.READ_WRITE
    label: str | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


def _info(key: ApiKey, owner: Owner) -> KeyInfo:
    return KeyInfo(
        key.id, key.key_id, _name(owner), key.created_at, key.revoked_at,
        scope=key.scope, label=key.label, expires_at=key.expires_at,
        last_used_at=key.last_used_at,
    )  # fmt: skip


def _hash(key: str) -> str:
    # Keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class _Remembered:
    """What the database said about a key id, and until when that may be repeated."""

    key_hash: str
    revoked: bool
    valid_until: float
    principal: Principal


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

    def create(
        self,
        owner_name: str,
        *,
        scope: Scope = Scope.READ_WRITE,
        label: str | None = None,
        expires_in: timedelta | None = None,
    ) -> IssuedKey:
        """Issue a key for `owner_name`, creating the owner on first use.

        `scope`: read or read-write; `label`: a note for people (where the key is used);
        `expires_in`: after that the key is refused like a revoked one.
        """
        name = owner_name.strip()
        if not name or len(name) > 200 or not name.isprintable():
            raise InvalidInput("owner", "must be 1-200 printable characters")
        if label is not None and (len(label) > MAX_LABEL or not label.isprintable()):
            raise InvalidInput("label", f"must be at most {MAX_LABEL} printable characters")
        if expires_in is not None and expires_in <= timedelta(0):
            raise InvalidInput("expires", "must be in the future")
        expires_at = utcnow() + expires_in if expires_in is not None else None
        key_id = _new_key_id()
        key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
        with transaction(self.engine) as session:
            owner = queries.owner_named(session, name)
            if owner is None:
                owner = Owner(name=name)
                session.add(owner)
                session.flush()
            row = ApiKey(
                owner_id=owner.id, key_id=key_id, key_hash=_hash(key), scope=Scope(scope),
                label=label or None, expires_at=expires_at,
            )  # fmt: skip
            session.add(row)
            session.flush()
        return IssuedKey(id=row.id, key_id=key_id, owner=name, key=key)

    def list_all(self) -> list[KeyInfo]:
        """Every key, oldest first, with its owner's name."""
        with transaction(self.engine) as session:
            rows = queries.keys_with_owners(session)
        return [_info(key, owner) for key, owner in rows]

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
        return _info(key, owner)

    def authenticate(self, presented: str | None) -> uuid.UUID:
        """The owner id behind a presented key, or NotAuthenticated."""
        return self.identify(presented).owner_id

    def identify(self, presented: str | None) -> Principal:
        """The owner and scope behind a presented key, or NotAuthenticated.

        Unknown, malformed and revoked keys get one message; an expired key is told so, but
        only once its secret matched. The key's last use is recorded, at most once a minute.
        """
        match = _KEY_FORMAT.match(presented or "")
        if match is None:
            raise _failure()
        remembered = self._recall(match.group(1))
        if remembered is None:
            remembered = self._read(match.group(1))
        return _check(remembered, presented or "")

    def identify_from_memory(self, presented: str | None) -> Principal | None:
        """Like `identify` when the answer needs no database (None when it does).

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
        now = utcnow()
        if row.last_used_at is None or row.last_used_at <= now - LAST_USED_RESOLUTION:
            with transaction(self.engine) as session:
                queries.touch(session, row.id, now, LAST_USED_RESOLUTION)
        remembered = _Remembered(
            key_hash=row.key_hash,
            revoked=row.revoked_at is not None,
            valid_until=read_at + self.cache_seconds,
            principal=Principal(
                owner_id=row.owner_id,
                scope=Scope(row.scope),
                key_id=row.key_id,
                label=row.label,
                expires_at=row.expires_at,
            ),
        )
        if self.cache_seconds > 0:
            if len(self._cache) >= _CACHE_ENTRIES:
                self._cache.clear()
            self._cache[key_id] = remembered
        return remembered


def _failure() -> NotAuthenticated:
    return NotAuthenticated("A valid API key is required (Authorization: Bearer <key>).")


def _check(remembered: _Remembered | None, presented: str) -> Principal:
    """Who the key names, if it hashes to the stored hash, is not revoked and not expired."""
    stored = remembered.key_hash if remembered is not None else _NO_HASH
    if not hmac.compare_digest(stored, _hash(presented)) or remembered is None:
        raise _failure()
    if remembered.revoked:
        raise _failure()
    expires_at = remembered.principal.expires_at
    if expires_at is not None and expires_at <= utcnow():
        raise NotAuthenticated("This API key has expired; ask for a new one.")
    return remembered.principal

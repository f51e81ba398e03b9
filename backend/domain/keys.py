"""API keys: random, shown once, stored as a hash, compared in constant time; scoped, expiring."""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
import uuid
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


def _name(owner: Owner) -> str:
    # Keys are only ever issued to named owners; users of an identity provider have none.
    return owner.name or ""


def _new_key_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(secrets.choice(alphabet) for _ in range(16))


class KeyService:
    """Issuing, listing, revoking and checking API keys; each call is its own transaction."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

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
        failure = NotAuthenticated("A valid API key is required (Authorization: Bearer <key>).")
        match = _KEY_FORMAT.match(presented or "")
        if match is None:
            raise failure
        with transaction(self.engine) as session:
            row = queries.key_by_key_id(session, match.group(1))
        # Compare even when the row is missing so timing says nothing about which ids exist.
        stored = row.key_hash if row is not None else "0" * 64
        if not hmac.compare_digest(stored, _hash(presented or "")) or row is None:
            raise failure
        if row.revoked_at is not None:
            raise failure
        now = utcnow()
        if row.expires_at is not None and row.expires_at <= now:
            raise NotAuthenticated("This API key has expired; ask for a new one.")
        if row.last_used_at is None or row.last_used_at <= now - LAST_USED_RESOLUTION:
            with transaction(self.engine) as session:
                queries.touch(session, row.id, now, LAST_USED_RESOLUTION)
        return Principal(
            owner_id=row.owner_id, scope=Scope(row.scope), key_id=row.key_id, label=row.label,
            expires_at=row.expires_at,
        )  # fmt: skip

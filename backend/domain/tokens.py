"""End users' access tokens from an OpenID Connect provider: verified, then mapped to owners."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
import sqlalchemy as sa

from backend.db import owners as queries
from backend.db.engine import transaction
from backend.domain.keys import KEY_PREFIX
from backend.errors import InvalidToken
from backend.jwks import Jwks
from backend.settings import OidcSettings

# Clocks of the provider and of this service disagree a little; tokens live for minutes.
LEEWAY_SECONDS = 30
# The longest owner claim stored; OpenID Connect caps sub at 255 ASCII characters.
MAX_SUBJECT_LENGTH = 255


def looks_like_jwt(token: str | None) -> bool:
    """Whether a bearer credential has a JWT's shape (three dot-separated parts), not a key's.

    The signature part may be empty: an unsigned (`alg: none`) token is still a token, and is
    refused as an invalid one.
    """
    if not token or token.startswith(f"{KEY_PREFIX}_"):
        return False
    parts = token.split(".")
    return len(parts) == 3 and all(parts[:2])


class TokenService:
    """Checks access tokens against the provider's keys and finds (or creates) their owner."""

    def __init__(self, engine: sa.Engine, settings: OidcSettings, keys: Jwks | None = None) -> None:
        self.engine = engine
        self.settings = settings
        if keys is None and settings.issuer is not None:
            keys = Jwks(settings.issuer, settings.jwks_url)
        self.keys = keys

    def accepts(self, presented: str | None) -> bool:
        """Whether this credential is a token for this service to check (not an API key).

        With no provider configured nothing is: a JWT then fails like any unknown API key.
        """
        return self.keys is not None and looks_like_jwt(presented)

    def authenticate(self, token: str) -> uuid.UUID:
        """The owner id of the user a valid token names; InvalidToken for any failed check.

        Raises IdentityProviderUnavailable when the keys to check it with cannot be had.
        """
        claims = self.verify(token)
        subject = claims.get(self.settings.owner_claim)
        if isinstance(subject, bool) or not isinstance(subject, str | int):
            raise InvalidToken(f"The token has no {self.settings.owner_claim!r} claim.")
        subject = str(subject)
        if not subject or len(subject) > MAX_SUBJECT_LENGTH:
            raise InvalidToken(f"The token's {self.settings.owner_claim!r} claim is unusable.")
        with transaction(self.engine) as session:
            return queries.ensure_user_owner(session, claims["iss"], subject)

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a token whose signature, iss, aud, exp and nbf all check out."""
        if self.keys is None or self.settings.issuer is None:
            raise InvalidToken("Access tokens are not accepted here.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid() from None
        algorithm = header.get("alg")
        # Checked before any key is looked up: `none` and HMAC never get near a key.
        if algorithm not in self.settings.algorithms:
            raise _invalid()
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise _invalid()
        jwk = self.keys.key(kid)
        if jwk is None or jwk.get("alg", algorithm) != algorithm:
            raise _invalid()
        try:
            # The key is bound to the token's (allowed) algorithm; a key of another type
            # (an EC key for RS256, say) fails right here.
            key = jwt.PyJWK(jwk, algorithm=algorithm)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"], "verify_signature": True},
            )
        except jwt.PyJWTError:
            raise _invalid() from None
        return claims


def _invalid() -> InvalidToken:
    # One message for every failed check: the caller learns nothing about which one.
    return InvalidToken("The access token is not valid (signature, issuer, audience or time).")

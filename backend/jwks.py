"""The identity provider's signing keys (its JWKS): fetched, cached, refreshed within limits.

Every network call to the provider happens here, with short timeouts, and every way it can
fail becomes IdentityProviderUnavailable. Callers run in worker threads, never on the event
loop, so plain blocking I/O is right.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from backend.errors import IdentityProviderUnavailable
from backend.settings import is_trusted_url

logger = logging.getLogger("backend.jwks")

# A JWKS or discovery document is a few kilobytes; anything far larger is not one.
_MAX_DOCUMENT_BYTES = 1024 * 1024


class Jwks:
    """The provider's public signing keys by key id, fetched on demand and cached.

    The cache is refreshed when a token names a key it does not hold (providers rotate keys
    by publishing the new one first) and when it is older than `max_age` (so keys the
    provider withdrew stop working), but never more often than once per `min_refresh`
    seconds: a stream of tokens with made-up key ids cannot turn into a stream of requests
    to the provider. When the provider is down, the keys already fetched keep working.
    """

    def __init__(
        self,
        issuer: str,
        jwks_url: str | None = None,
        *,
        timeout: float = 3.0,
        min_refresh: float = 30.0,
        max_age: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.timeout = timeout
        self.min_refresh = min_refresh
        self.max_age = max_age
        self.clock = clock
        self._keys: list[dict[str, Any]] = []
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._failing = False
        self._lock = threading.Lock()

    def key(self, kid: str | None) -> dict[str, Any] | None:
        """The JWK for `kid` (a token without kid: the only key there is), or None.

        Raises IdentityProviderUnavailable when the keys cannot be fetched and none that
        would answer the question are cached.
        """
        found = self._find(kid)
        if found is not None and not self._stale():
            return found
        # A stale key stays good while another thread refreshes: no queueing behind its fetch.
        if not self._lock.acquire(blocking=found is None):
            return found
        try:
            return self._refreshed_key(kid)
        finally:
            self._lock.release()

    def _refreshed_key(self, kid: str | None) -> dict[str, Any] | None:
        # Another thread may have refreshed while this one waited for the lock.
        found = self._find(kid)
        if found is not None and not self._stale():
            return found
        if not self._may_refresh():
            if found is None and self._failing:
                raise _unavailable()
            return found
        try:
            self._refresh()
        except IdentityProviderUnavailable:
            self._failing = True
            if found is not None:
                return found  # the provider is down, the key the token names is not
            raise
        self._failing = False
        return self._find(kid)

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        keys = self._keys  # replaced as a whole on refresh, so this read needs no lock
        if kid is None:
            # Without a kid the token can only be checked when there is no choice to make.
            return keys[0] if len(keys) == 1 else None
        return next((jwk for jwk in keys if jwk.get("kid") == kid), None)

    def _stale(self) -> bool:
        return self._fetched_at is None or self.clock() - self._fetched_at > self.max_age

    def _may_refresh(self) -> bool:
        return self._attempted_at is None or self.clock() - self._attempted_at >= self.min_refresh

    def _refresh(self) -> None:
        self._attempted_at = self.clock()
        url = self.jwks_url or self._discover()
        document = self._get_json(url)
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise IdentityProviderUnavailable("The identity provider's key set is malformed.")
        # Signing keys only, and never a symmetric one: a published secret is no secret.
        self._keys = [
            jwk
            for jwk in keys
            if isinstance(jwk, dict)
            and jwk.get("kty") in {"RSA", "EC", "OKP"}
            and jwk.get("use", "sig") == "sig"
        ]
        self.jwks_url = url
        self._fetched_at = self.clock()

    def _discover(self) -> str:
        """The jwks_uri from the issuer's OpenID Connect discovery document."""
        document = self._get_json(f"{self.issuer.rstrip('/')}/.well-known/openid-configuration")
        url = document.get("jwks_uri")
        if not isinstance(url, str) or not is_trusted_url(url):
            raise IdentityProviderUnavailable(
                "The identity provider's discovery document names no usable jwks_uri."
            )
        return url

    def _get_json(self, url: str) -> dict[str, Any]:
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        try:
            # The URL is an https:// (or loopback http://) one, checked by the settings.
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(_MAX_DOCUMENT_BYTES + 1)
            document = json.loads(body) if len(body) <= _MAX_DOCUMENT_BYTES else None
        except (OSError, ValueError) as exc:  # URLError, HTTPError and timeouts are OSErrors
            logger.warning("identity provider unreachable at %s: %s", url, exc)
            raise _unavailable() from exc
        if not isinstance(document, dict):
            raise IdentityProviderUnavailable("The identity provider answered something else.")
        return document


def _unavailable() -> IdentityProviderUnavailable:
    return IdentityProviderUnavailable(
        "The identity provider's signing keys cannot be fetched; try again shortly."
    )

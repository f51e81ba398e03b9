"""A stand-in OpenID Connect provider on loopback: signing keys, discovery, a JWKS and tokens.

Tests (and a browser test signing a page in) configure the service with `provider.settings()`
and call the API with `provider.token("alice")`. The provider can rotate keys, go down, and
counts how often its key set is fetched.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "stowage-api"


@dataclass(frozen=True)
class SigningKey:
    """A private key the provider signs with, and the public JWK it publishes for it."""

    kid: str
    algorithm: str
    private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    def public_jwk(self) -> dict[str, Any]:
        """The JWK of the public half, as a JWKS lists it."""
        public = self.private_key.public_key()
        encoder = RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else ECAlgorithm
        jwk = dict(encoder.to_jwk(public, as_dict=True))
        return jwk | {"kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def public_pem(self) -> bytes:
        """The public key as PEM: what an attacker would try as an HMAC secret."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@functools.cache
def _rsa_private_key(seed: str) -> rsa.RSAPrivateKey:
    # Cached per name: a 2048-bit key takes a noticeable moment, and tests need only a few.
    del seed
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def rsa_key(kid: str | None = None) -> SigningKey:
    """An RS256 signing key (one cached private key per kid)."""
    kid = kid or f"rsa-{uuid.uuid4().hex[:8]}"
    return SigningKey(kid, "RS256", _rsa_private_key(kid))


def ec_key(kid: str | None = None) -> SigningKey:
    """An ES256 signing key on P-256."""
    return SigningKey(
        kid or f"ec-{uuid.uuid4().hex[:8]}", "ES256", ec.generate_private_key(ec.SECP256R1())
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def forge(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None = None) -> str:
    """A token built by hand: HS256 with `secret` if given, else unsigned (`alg: none`).

    Libraries refuse to make these; an attacker does not ask a library.
    """
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = b""
    if secret is not None:
        signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


@dataclass
class IdentityProvider:
    """An OpenID Connect provider serving discovery and its JWKS on a loopback port."""

    audience: str = AUDIENCE
    keys: list[SigningKey] = field(default_factory=lambda: [rsa_key("rsa-1"), ec_key("ec-1")])
    # Published as they are, beside the signing keys' JWKs (keys the service must ignore).
    other_jwks: list[dict[str, Any]] = field(default_factory=list)
    # Answer every request with 503, as a provider in an outage does.
    down: bool = False
    jwks_requests: int = 0
    discovery_requests: int = 0
    _server: ThreadingHTTPServer | None = None

    @property
    def issuer(self) -> str:
        """The issuer URL: the server's own origin."""
        if self._server is None:
            raise RuntimeError("the identity provider is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def jwks_url(self) -> str:
        """Where the key set is served (what discovery names)."""
        return f"{self.issuer}/jwks.json"

    def settings(self, **extra: Any) -> dict[str, Any]:
        """The OIDC_* settings (lower-case, as tests/configuration takes them) for this provider."""
        return {"oidc_issuer": self.issuer, "oidc_audience": self.audience, **extra}

    def publish(self, key: SigningKey) -> None:
        """Add a key to the published set (a rotation's first step)."""
        self.keys.append(key)

    def withdraw(self, kid: str) -> None:
        """Remove a key from the published set."""
        self.keys = [key for key in self.keys if key.kid != kid]

    def token(
        self,
        subject: str = "alice",
        *,
        key: SigningKey | None = None,
        issuer: str | None = None,
        audience: str | list[str] | None = None,
        expires_in: float = 300,
        not_before: float | None = None,
        claims: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """A signed access token for `subject`; every claim can be set wrong on purpose.

        A claim or header given as None in `claims` or `headers` is left out.
        """
        key = key or self.keys[0]
        now = time.time()
        payload: dict[str, Any] = {
            "iss": issuer or self.issuer,
            "aud": audience or self.audience,
            "sub": subject,
            "iat": int(now),
            "exp": int(now + expires_in),
        }
        if not_before is not None:
            payload["nbf"] = int(not_before)
        payload.update(claims or {})
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload,
            key.private_key,
            algorithm=key.algorithm,
            headers={k: v for k, v in {"kid": key.kid, **(headers or {})}.items() if v is not None},
        )

    def start(self) -> None:
        """Serve on a free loopback port, in a daemon thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, path: str) -> tuple[int, dict[str, Any]]:
        if self.down:
            return 503, {"error": "temporarily_unavailable"}
        if path == "/.well-known/openid-configuration":
            self.discovery_requests += 1
            return 200, {"issuer": self.issuer, "jwks_uri": self.jwks_url}
        if path == "/jwks.json":
            self.jwks_requests += 1
            return 200, {"keys": [key.public_jwk() for key in self.keys] + self.other_jwks}
        return 404, {"error": "not_found"}


def _handler(provider: IdentityProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = provider._answer(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass  # quiet: pytest shows failures, not every fetch

    return Handler


@contextmanager
def running_identity_provider(**options: Any) -> Iterator[IdentityProvider]:
    """An IdentityProvider serving for the duration of the block."""
    provider = IdentityProvider(**options)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()

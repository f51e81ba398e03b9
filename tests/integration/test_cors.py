"""CORS: web apps on the allowed origins may call the API; every other origin gets nothing."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.integration.api import Api

APP = "https://app.example.com"
OTHER_APP = "http://localhost:5173"


def _preflight(
    api: Api, path: str, method: str, origin: str = APP, headers: str = "authorization"
) -> httpx.Response:
    return api.http.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


def _cors_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


@pytest.fixture
def cors_api(api_with: Callable[..., Api]) -> Api:
    """Alice's API on an app that allows two web origins."""
    return api_with(cors_allow_origins=f"{APP},{OTHER_APP}")


# A file id nobody has; fixed, so every test process collects the same test ids.
FILE = "/files/3f0c2a5e-8d1b-4c7e-9a64-52b1e0d7c913"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/files/upload", "POST"),
        (f"{FILE}/confirm", "POST"),
        ("/files", "GET"),
        (FILE, "GET"),
        (FILE, "DELETE"),
        (f"{FILE}/download", "GET"),
        ("/health/ready", "GET"),
    ],
)
def test_a_preflight_from_an_allowed_origin_is_answered_without_credentials(
    cors_api: Api, path: str, method: str
) -> None:
    response = _preflight(cors_api, path, method, headers="authorization, content-type")
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == APP
    assert method in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= {
        name.strip() for name in allowed.split(",")
    }
    assert int(response.headers["access-control-max-age"]) > 0
    assert "Origin" in response.headers["vary"]
    assert "access-control-allow-credentials" not in response.headers


def test_answers_to_an_allowed_origin_carry_cors_and_expose_what_clients_read(
    cors_api: Api,
) -> None:
    listed = cors_api.request("GET", "/files", headers={"Origin": OTHER_APP})
    assert listed.status_code == 200
    assert listed.headers["access-control-allow-origin"] == OTHER_APP
    assert "Origin" in listed.headers["vary"]
    exposed = {
        h.strip().lower() for h in listed.headers["access-control-expose-headers"].split(",")
    }
    assert {"location", "retry-after", "www-authenticate"} <= exposed
    assert "access-control-allow-credentials" not in listed.headers


@pytest.mark.parametrize(
    ("method", "path", "authorized", "status"),
    [
        ("GET", "/files", False, 401),
        ("GET", FILE, True, 404),
        ("GET", "/no/such/route", True, 404),
        ("PATCH", "/files", True, 405),
    ],
)
def test_error_answers_to_an_allowed_origin_are_readable_too(
    cors_api: Api, method: str, path: str, authorized: bool, status: int
) -> None:
    headers = {"Origin": APP, **(cors_api.headers if authorized else {})}
    response = cors_api.http.request(method, path, headers=headers)
    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == APP


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.com",
        "https://app.example.com.evil.test",  # a prefix of an allowed origin is not it
        "http://app.example.com",  # another scheme is another origin
        "https://app.example.com:8443",  # so is another port
        "null",
    ],
)
def test_an_origin_that_is_not_allowed_gets_no_cors_headers_at_all(
    cors_api: Api, origin: str
) -> None:
    preflight = _preflight(cors_api, "/files/upload", "POST", origin=origin)
    assert preflight.status_code == 403
    assert preflight.json()["code"] == "cors_not_allowed"
    assert _cors_headers(preflight) == {}

    actual = cors_api.request("GET", "/files", headers={"Origin": origin})
    assert actual.status_code == 200
    assert _cors_headers(actual) == {}


@pytest.mark.parametrize(
    ("method", "headers"),
    [("PATCH", "authorization"), ("POST", "authorization, x-custom")],
)
def test_a_preflight_for_a_method_or_header_the_api_does_not_take_is_refused(
    cors_api: Api, method: str, headers: str
) -> None:
    response = _preflight(cors_api, "/files/upload", method, headers=headers)
    assert response.status_code == 403
    assert _cors_headers(response) == {}


def test_without_cors_origins_no_cors_headers_are_sent(api: Api) -> None:
    preflight = _preflight(api, "/files/upload", "POST")
    assert _cors_headers(preflight) == {}
    assert _cors_headers(api.request("GET", "/files", headers={"Origin": APP})) == {}


def test_any_origin_only_when_asked_and_never_with_credentials(
    api_with: Callable[..., Api],
) -> None:
    anyone = api_with(cors_allow_origins="*")
    preflight = _preflight(anyone, "/files", "GET", origin="https://anywhere.test")
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    actual = anyone.request("GET", "/files", headers={"Origin": "https://anywhere.test"})
    assert actual.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in actual.headers

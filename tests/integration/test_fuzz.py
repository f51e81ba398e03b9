"""No input makes a server error: requests generated from the app's own OpenAPI document.

Schemathesis reads the document the app serves and sends what it describes, and what it does
not (wrong types, missing fields, odd strings in paths, queries and headers), to the real
service on PostgreSQL and SeaweedFS, as an owner with a valid key. Every answer must be below
500: bad input is the caller's problem and gets a 4xx problem, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from litestar import Litestar
from schemathesis.generation.case import Case
from schemathesis.openapi import from_dict

from backend.settings import Settings
from tests.integration.live_server import serve

pytestmark = pytest.mark.slow


@pytest.fixture
def live(make_app: Callable[[Settings], Litestar], settings: Settings) -> Iterator[str]:
    """The service on real sockets, as clients reach it."""
    with serve(make_app(settings)) as url:
        yield url


@pytest.fixture
def fuzz_key(make_key: Callable[[str], str]) -> str:
    """One owner's key for every generated request of a test."""
    return make_key("fuzz")


@pytest.fixture
def document(client: Any) -> dict[str, Any]:
    """The OpenAPI document the app serves."""
    served: dict[str, Any] = client.get("/docs/openapi.json").json()
    return served


def test_no_request_makes_a_server_error(
    document: dict[str, Any], live: str, fuzz_key: str
) -> None:
    server_errors: list[str] = []
    operations = [result.ok() for result in from_dict(document).get_all_operations()]
    assert len(operations) >= 8  # the document really was read

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def send(case: Case) -> None:
            response = case.call(base_url=live, headers={"Authorization": f"Bearer {fuzz_key}"})
            if response.status_code >= 500:
                server_errors.append(
                    f"{case.method} {case.formatted_path} {case.query or ''} "
                    f"-> {response.status_code}: {response.text[:200]}"
                )

        send()

    assert server_errors == []

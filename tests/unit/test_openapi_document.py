"""The OpenAPI document describes every answer: problems and their codes, bodies, headers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from openapi_spec_validator import validate

PROBLEM = "application/problem+json"


@pytest.fixture
def document(offline_client: TestClient[Litestar]) -> dict[str, Any]:
    """The document as the app serves it."""
    served: dict[str, Any] = offline_client.get("/docs/openapi.json").json()
    return served


def _answers(document: dict[str, Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """("GET /files", 200, response) for every response of every operation."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                yield f"{method.upper()} {path}", int(status), response


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_every_error_answer_is_a_problem_naming_its_codes(document: dict[str, Any]) -> None:
    errors = [(name, status, r) for name, status, r in _answers(document) if status >= 400]
    assert errors
    for name, status, response in errors:
        media = response["content"][PROBLEM]
        assert media["schema"] == {"$ref": "#/components/schemas/Problem"}, (name, status)
        assert media["examples"], (name, status)
        for code, example in media["examples"].items():
            assert f"`{code}`" in response["description"], (name, status, code)
            assert example["value"]["code"] == code
            assert example["value"]["status"] == status


def test_every_success_answer_documents_its_body(document: dict[str, Any]) -> None:
    for name, status, response in _answers(document):
        if status == 204:
            assert "content" not in response, name
        elif status < 300:
            schema = response["content"]["application/json"]["schema"]
            assert schema.get("$ref", "").startswith("#/components/schemas/"), (name, schema)


def test_the_download_documents_its_url_and_its_redirect(document: dict[str, Any]) -> None:
    responses = document["paths"]["/files/{file_id}/download"]["get"]["responses"]
    body = document["components"]["schemas"]["DownloadOut"]

    assert responses["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DownloadOut"
    }
    assert set(body["required"]) == {"url", "expires_at"}
    assert responses["307"]["headers"]["Location"]["required"] is True
    assert "content" not in responses["307"]


def test_readiness_documents_what_failed(document: dict[str, Any]) -> None:
    responses = document["paths"]["/health/ready"]["get"]["responses"]

    assert set(responses["503"]["content"][PROBLEM]["examples"]) == {"not_ready"}
    assert "checks" in document["components"]["schemas"]["Problem"]["properties"]


def test_cursors_are_documented_as_opaque(document: dict[str, Any]) -> None:
    parameters = document["paths"]["/files"]["get"]["parameters"]
    (cursor,) = [p for p in parameters if p["name"] == "cursor"]
    next_cursor = document["components"]["schemas"]["FilePage"]["properties"]["next_cursor"]

    assert "Opaque" in cursor["description"]
    assert "Opaque" in next_cursor["description"]

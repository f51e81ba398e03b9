"""Every domain error maps to one deliberate HTTP status, in one place."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import backend
from backend import errors
from backend.http.problems import domain_error_handler, status_for


def _import_backend() -> None:
    """Import every module so subclasses defined anywhere in the service are registered."""
    for module in pkgutil.walk_packages(backend.__path__, f"{backend.__name__}."):
        # Alembic's env.py runs migrations and __main__ runs the CLI when imported.
        if module.name.startswith(("backend.migrations", "backend.__main__")):
            continue
        importlib.import_module(module.name)


def _all_subclasses(cls: type[errors.DomainError]) -> list[type[errors.DomainError]]:
    found: list[type[errors.DomainError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


_import_backend()
DOMAIN_ERRORS = _all_subclasses(errors.DomainError)


def _instance(cls: type[errors.DomainError]) -> errors.DomainError:
    if issubclass(cls, errors.InvalidInput):
        return cls("field", "is wrong")
    if issubclass(cls, errors.UploadRejected):
        return cls("Does not match.", ["size"])
    if issubclass(cls, errors.PartsMissing):
        return cls("Parts 2 and 3 are missing.", [2, 3])
    return cls("Something happened.")


def test_error_tree_is_found() -> None:
    assert errors.StorageUnavailable in DOMAIN_ERRORS
    assert errors.ObjectMissing in DOMAIN_ERRORS


@pytest.mark.parametrize("error_class", DOMAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_every_domain_error_has_a_deliberate_status(error_class: type[errors.DomainError]) -> None:
    status = status_for(_instance(error_class))

    assert status != 500, f"{error_class.__name__} falls through to 500"
    assert 400 <= status < 600


@pytest.mark.parametrize(
    ("error_class", "status"),
    [
        (errors.InvalidInput, 422),
        (errors.UploadRejected, 422),
        (errors.NotAuthenticated, 401),
        (errors.NotFound, 404),
        (errors.TooLarge, 413),
        (errors.UnsupportedContentType, 415),
        *[(cls, 409) for cls in DOMAIN_ERRORS if issubclass(cls, errors.Conflict)],
        *[(cls, 503) for cls in DOMAIN_ERRORS if issubclass(cls, errors.Unavailable)],
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else str(value),
)
def test_domain_error_status(error_class: type[errors.DomainError], status: int) -> None:
    assert status_for(_instance(error_class)) == status


@pytest.mark.parametrize("error_class", DOMAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_problem_response_carries_the_status_and_stable_code(
    error_class: type[errors.DomainError],
) -> None:
    error = _instance(error_class)

    response = domain_error_handler(None, error)  # type: ignore[arg-type]  # request unused

    assert response.status_code == status_for(error)
    assert response.content.status == response.status_code
    assert response.content.code == error_class.code
    assert response.content.type.endswith(f":{error_class.code}")
    assert response.media_type == "application/problem+json"


@pytest.mark.parametrize(
    "error_class", [c for c in DOMAIN_ERRORS if issubclass(c, errors.Unavailable)]
)
def test_unavailable_problem_asks_the_client_to_retry(
    error_class: type[errors.DomainError],
) -> None:
    response = domain_error_handler(None, _instance(error_class))  # type: ignore[arg-type]

    assert int(response.headers["Retry-After"]) > 0


def test_not_authenticated_problem_names_the_bearer_scheme() -> None:
    error = errors.NotAuthenticated("A key is required.")

    response = domain_error_handler(None, error)  # type: ignore[arg-type]

    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_invalid_input_problem_names_the_field() -> None:
    response = domain_error_handler(None, errors.InvalidInput("filename", "too long"))  # type: ignore[arg-type]

    assert response.content.errors == [{"field": "filename", "message": "too long"}]

"""Bad input gets a clear problem response, names the field, and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from backend.domain.keys import KeyService
from tests.integration.api import Api

VALID: dict[str, Any] = {"filename": "a.txt", "content_type": "text/plain", "size": 3}


def _count_files(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT count(*) FROM files")).scalar_one())


def _assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["code"] == code
    assert problem["type"].endswith(code)
    assert problem["title"] and problem["detail"]
    assert "Traceback" not in response.text
    return problem


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"filename": "a.txt",',
        b"\xff\xfe",
        b'{"filename": "a.txt"} trailing',
        b"[" * 30_000 + b"]" * 30_000,  # deeper than the decoder recurses, under 64 KiB
    ],
    ids=["broken", "cut-off", "not-utf8", "trailing", "deep"],
)
def test_malformed_json_is_a_400(api: Api, engine: sa.Engine, body: bytes) -> None:
    response = api.request(
        "POST", "/files/upload", content=body, headers={"content-type": "application/json"}
    )
    _assert_problem(response, 400, "malformed_json")
    assert _count_files(engine) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"size": -1}, "size"),
        ({"size": 1.5}, "size"),
        ({"size": "3"}, "size"),
        ({"size": None}, "size"),
        ({"size": True}, "size"),
        ({"filename": 7}, "filename"),
        ({"filename": ""}, "filename"),
        ({"filename": "   "}, "filename"),
        ({"filename": "é" * 128}, "filename"),  # 256 bytes in UTF-8
        ({"filename": "a\x00b.txt"}, "filename"),
        ({"filename": "a\nb.txt"}, "filename"),
        ({"filename": "a\x1bb.txt"}, "filename"),
        ({"filename": "dir/a.txt"}, "filename"),
        ({"filename": "dir\\a.txt"}, "filename"),
        ({"filename": "invoice\u202etxt.exe"}, "filename"),
        ({"filename": "a\u2066b.txt"}, "filename"),
        ({"filename": "a\u200fb.txt"}, "filename"),  # right-to-left mark
        ({"filename": "soft\u00adhyphen.txt"}, "filename"),
        ({"filename": "\ufeffbom.txt"}, "filename"),
        ({"sha256": "abc"}, "sha256"),
        ({"sha256": "g" * 64}, "sha256"),
        ({"sha256": "a" * 65}, "sha256"),
        ({"sha256": "a" * 64 + "\n"}, "sha256"),
        ({"sha256": "a" * 64 + " "}, "sha256"),
        ({"sha256": " " + "a" * 64}, "sha256"),
        ({"content_type": "audio/*"}, "content_type"),
        ({"content_type": "*/*"}, "content_type"),
        ({"content_type": "video/*; codecs=x"}, "content_type"),
        ({"content_type": "not a type"}, "content_type"),
        ({"content_type": "text/plain\r\nX-Evil: 1"}, "content_type"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_fields_are_422_naming_the_field(
    api: Api, engine: sa.Engine, changes: dict[str, Any], field: str
) -> None:
    response = api.request("POST", "/files/upload", json={**VALID, **changes})
    problem = _assert_problem(response, 422, "invalid_input")
    assert field in [error["field"] for error in problem["errors"]]
    assert _count_files(engine) == 0


@pytest.mark.parametrize("missing", ["filename", "content_type", "size"])
def test_missing_fields_are_422_naming_the_field(api: Api, missing: str) -> None:
    body = {k: v for k, v in VALID.items() if k != missing}
    problem = _assert_problem(api.request("POST", "/files/upload", json=body), 422, "invalid_input")
    assert missing in problem["detail"]


def test_an_empty_body_is_422(api: Api) -> None:
    response = api.request("POST", "/files/upload", headers={"content-type": "application/json"})
    _assert_problem(response, 422, "invalid_input")


def test_a_filename_of_exactly_255_utf8_bytes_is_accepted(api: Api) -> None:
    name = "é" * 127 + "a"  # 255 bytes
    assert api.request_upload(b"abc", filename=name).status_code == 201


def test_emoji_with_zero_width_joiners_are_valid_filenames(api: Api) -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467.png"
    assert api.request_upload(b"abc", filename=family, content_type="image/png").status_code == 201


def test_filenames_are_stored_nfc_normalised(api: Api) -> None:
    decomposed = "cafe\u0301.txt"
    ticket = api.request_upload(b"abc", filename=decomposed).json()
    stored = api.request("GET", f"/files/{ticket['file_id']}").json()["filename"]
    assert stored == "caf\u00e9.txt"


def test_size_over_the_limit_is_413(api_with: Callable[..., Api], engine: sa.Engine) -> None:
    api = api_with(max_upload_bytes=10)
    assert api.request_upload(b"x" * 10).status_code == 201
    problem = _assert_problem(api.request_upload(b"x" * 11), 413, "file_too_large")
    assert "10" in problem["detail"]
    assert _count_files(engine) == 1


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html",
        "image/svg+xml",
        "application/xhtml+xml",
        "application/javascript",
        "text/javascript",
    ],
)
def test_active_content_types_are_415_by_default(
    api: Api, engine: sa.Engine, content_type: str
) -> None:
    _assert_problem(
        api.request_upload(b"<x>", content_type=content_type), 415, "unsupported_content_type"
    )
    assert _count_files(engine) == 0


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"status": "lost"}, "status"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"q": "x" * 256}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "a\u202eb"}, "q"),
    ],
)
def test_bad_listing_parameters_are_422(api: Api, params: dict[str, Any], field: str) -> None:
    problem = _assert_problem(api.request("GET", "/files", params=params), 422, "invalid_input")
    assert field in [error["field"] for error in problem["errors"]]


def test_bad_download_disposition_is_422(api: Api) -> None:
    file = api.upload(b"abc")
    response = api.request(
        "GET", f"/files/{file['file_id']}/download", params={"disposition": "evil"}
    )
    _assert_problem(response, 422, "invalid_input")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer nonsense",
        "Basic dXNlcjpwYXNz",
        "Bearer stw_aaaaaaaaaaaaaaaa_" + "A" * 43,
    ],
)
def test_requests_without_a_valid_key_are_401(api: Api, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.http.get("/files", headers=headers)
    _assert_problem(response, 401, "not_authenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


def _other_secret(secret: str, position: int) -> str:
    """The same secret with one character changed (still well-formed)."""
    swapped = "B" if secret[position] == "A" else "A"
    return secret[:position] + swapped + secret[position + 1 :]


@pytest.mark.parametrize("position", [0, 42], ids=["first-char", "last-char"])
def test_a_real_key_id_with_a_wrong_secret_is_401(api: Api, position: int) -> None:
    prefix, key_id, secret = api.key.split("_", 2)
    forged = f"{prefix}_{key_id}_{_other_secret(secret, position)}"
    response = api.http.get("/files", headers={"Authorization": f"Bearer {forged}"})
    _assert_problem(response, 401, "not_authenticated")
    assert api.request("GET", "/files").status_code == 200  # the real key still works


def test_a_revoked_key_is_401(api: Api, engine: sa.Engine) -> None:
    assert api.request("GET", "/files").status_code == 200
    KeyService(engine).revoke(api.key)
    _assert_problem(api.request("GET", "/files"), 401, "not_authenticated")


def test_authentication_comes_before_body_parsing(api: Api) -> None:
    response = api.http.post("/files/upload", content=b"{broken")
    _assert_problem(response, 401, "not_authenticated")


def test_unknown_routes_and_methods_are_problems(api: Api) -> None:
    _assert_problem(api.request("GET", "/nowhere"), 404, "not_found")
    _assert_problem(api.request("PUT", "/files/upload"), 405, "method_not_allowed")

"""The web client at `/`: its own files only, exact media types, a strict CSP, nothing inline."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from backend.http.web import FILES, WEB_FOLDER

# src="..." and href="..." in the page, and the modules' imports: what a browser fetches.
_REFERENCE = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
_IMPORT = re.compile(r"""^import .* from "\./([^"]+)";$""", re.MULTILINE)


def test_the_page_is_at_the_root_with_a_strict_content_security_policy(
    offline_client: TestClient[Litestar],
) -> None:
    response = offline_client.get("/")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["require-trusted-types-for"] == "'script'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_everything_the_page_loads_is_served_with_its_media_type(
    offline_client: TestClient[Litestar],
) -> None:
    page = offline_client.get("/").text
    modules = [
        name for path in WEB_FOLDER.glob("*.js") for name in _IMPORT.findall(path.read_text())
    ]
    wanted = set(_REFERENCE.findall(page)) | set(modules)
    assert {"app.js", "style.css", "upload.js"} <= wanted
    for name in wanted:
        response = offline_client.get(f"/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].split(";")[0] == FILES[name], name
        assert response.headers["cache-control"] == "no-cache", name


def test_every_file_in_the_folder_is_served_and_nothing_else(
    offline_client: TestClient[Litestar],
) -> None:
    assert {path.name for path in WEB_FOLDER.iterdir()} == set(FILES)
    for name in ["index.html", "web.py", "..%2Fapp.py", "upload.js.map"]:
        response = offline_client.get(f"/{name}")
        assert response.status_code == 404, name
        assert response.json()["code"] == "not_found"


def test_an_unchanged_file_is_not_sent_again(offline_client: TestClient[Litestar]) -> None:
    first = offline_client.get("/upload.js")
    again = offline_client.get("/upload.js", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert again.content == b""


@pytest.mark.parametrize("name", sorted(name for name in FILES if name.endswith((".html", ".js"))))
def test_no_inline_script_eval_or_html_from_strings(name: str) -> None:
    source = (WEB_FOLDER / name).read_text(encoding="utf-8")

    for risky in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "eval(",
        "new Function",
        "onclick=",
    ]:
        assert risky not in source, f"{name} uses {risky}"
    assert "<script>" not in source and "style=" not in source, name

"""/docs works without internet: the page and everything it loads come from the app itself."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from litestar import Litestar
from litestar.testing import TestClient

# src="..." and href="..." in the page: what a browser fetches to show it.
_REFERENCE = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def _page(client: TestClient[Litestar]) -> str:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def test_the_docs_page_names_no_other_host(offline_client: TestClient[Litestar]) -> None:
    page = _page(offline_client)

    assert re.findall(r"https?://[^\s\"'<>]+", page) == []
    assert [url for url in _REFERENCE.findall(page) if url.startswith("//")] == []


def test_everything_the_docs_page_loads_is_served_by_the_app(
    offline_client: TestClient[Litestar],
) -> None:
    references = _REFERENCE.findall(_page(offline_client))

    suffixes = {PurePosixPath(urlsplit(url).path).suffix for url in references}
    assert {".js", ".css"} <= suffixes  # Swagger UI's script and its styles at least
    for url in references:
        response = offline_client.get(url)
        assert response.status_code == 200, url
        media_type = response.headers["content-type"].split(";")[0]
        assert media_type == _MEDIA_TYPES[PurePosixPath(urlsplit(url).path).suffix], url
        assert response.content, url
        assert "public" in response.headers["cache-control"], url


def test_the_document_the_page_shows_is_served_too(offline_client: TestClient[Litestar]) -> None:
    response = offline_client.get("/docs/openapi.json")

    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Stowage"
    assert '"openapi":"3.1' in _page(offline_client).replace(" ", "")  # inlined in the page


def test_only_the_files_the_page_needs_are_served(offline_client: TestClient[Litestar]) -> None:
    for name in ["swagger-editor-bundle.js", "LICENSE", "..%2F__init__.py", "index.html"]:
        response = offline_client.get(f"/docs/assets/{name}")
        assert response.status_code == 404, name
        assert response.json()["code"] == "not_found"

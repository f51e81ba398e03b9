"""`/docs`: Swagger UI served by the app itself, so the documentation works without internet.

Swagger UI's files come from the swagger-ui-py package (Swagger UI's own dist, byte for byte);
Litestar's page would otherwise load them, and its favicon, from a CDN.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from litestar import get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.params import FromPath
from litestar.response import File

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
_PACKAGE = "swagger-ui-py"

# The files the page loads, and their media types; nothing else in the package is served.
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


def _asset_url(name: str) -> str:
    # The package version in the URL lets browsers keep the files for a week and still pick
    # up an upgrade at once.
    return f"{ASSETS_PATH}/{name}?v={importlib.metadata.version(_PACKAGE)}"


def _assets_folder() -> Path:
    """Where the package keeps Swagger UI's files (found without importing the package)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{_PACKAGE} is not installed; /docs needs it")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def swagger_ui() -> SwaggerRenderPlugin:
    """The Swagger UI page, loading its scripts, styles and icon from this app."""
    return SwaggerRenderPlugin(
        js_url=_asset_url("swagger-ui-bundle.js"),
        css_url=_asset_url("swagger-ui.css"),
        standalone_preset_js_url=_asset_url("swagger-ui-standalone-preset.js"),
        favicon=f"<link rel='icon' type='image/png' href='{_asset_url('favicon-32x32.png')}'>",
    )


def swagger_ui_assets() -> HTTPRouteHandler:
    """The handler serving Swagger UI's files under /docs/assets."""
    folder = _assets_folder()
    missing = [name for name in ASSETS if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"{_PACKAGE} lacks {', '.join(missing)} in {folder}")

    # Public, versioned, identical for everyone: unlike the API's answers, fine to cache.
    @get(
        f"{ASSETS_PATH}/{{name:str}}",
        include_in_schema=False,
        sync_to_thread=False,
        cache_control=CacheControlHeader(public=True, max_age=7 * 24 * 3600),
    )
    def docs_asset(name: FromPath[str]) -> File:
        """One of Swagger UI's files."""
        if name not in ASSETS:
            raise NotFoundException(f"No documentation asset {name!r}.")
        return File(folder / name, media_type=ASSETS[name], content_disposition_type="inline")

    return docs_asset

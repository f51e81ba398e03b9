"""`/`: the reference web client, static files served by the API itself.

The page and its modules live in backend/web/ (plain HTML, CSS and ES modules: no build step)
and ship in the wheel beside the code. They are read once, when the app is built, and served
with their exact media types and a strict Content-Security-Policy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get

WEB_FOLDER = Path(__file__).resolve().parents[1] / "web"
PAGE = "index.html"

# Every file the page is made of, and its media type (Litestar adds charset=utf-8 to text);
# nothing else in the folder is served.
FILES = {
    PAGE: "text/html",
    "style.css": "text/css",
    "app.js": "text/javascript",
    "files.js": "text/javascript",
    "format.js": "text/javascript",
    "upload.js": "text/javascript",
    "icon.svg": "image/svg+xml",
}

# Scripts and styles only from this app's own files: no inline code, no eval, no other host,
# and Trusted Types so that no string can ever become HTML or script. connect-src stays open
# to http(s): the page talks to the API URL its user enters and to whatever bucket that API
# signs forms for, neither of which the server can know in advance.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self' http: https:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Presigned URLs and the page's own address stay out of other sites' logs.
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Always revalidated, so an upgrade reaches browsers at once; the ETag keeps that cheap.
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class WebFile:
    """One of the page's files, as it is answered."""

    content: bytes
    media_type: str
    etag: str


def _load(folder: Path) -> dict[str, WebFile]:
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise RuntimeError(f"the web client lacks {', '.join(missing)} in {folder}")
    loaded = {}
    for name, media_type in FILES.items():
        content = (folder / name).read_bytes()
        etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
        loaded[name] = WebFile(content, media_type, etag)
    return loaded


def _answer(file: WebFile, request: Request[Any, Any, Any]) -> Response[bytes]:
    headers = {**SECURITY_HEADERS, "ETag": file.etag}
    if request.headers.get("if-none-match") == file.etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(file.content, media_type=file.media_type, headers=headers)


def web_client(folder: Path = WEB_FOLDER) -> Router:
    """The router serving the page at `/` and each of its files beside it (`/app.js`, ...).

    The files refer to each other by relative URLs, so the folder also works as it is on any
    static file server, on another origin than the API.
    """
    files = _load(folder)
    paths = {"/": PAGE} | {f"/{name}": name for name in files if name != PAGE}

    @get(list(paths), sync_to_thread=False)
    def web_file(request: Request[Any, Any, Any]) -> Response[bytes]:
        """The web client, or one of its files."""
        return _answer(files[paths[request.url.path]], request)

    return Router(path="/", route_handlers=[web_file], include_in_schema=False)

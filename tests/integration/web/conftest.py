"""Browser fixtures: headless Chromium, the web client on its own origin, and the API it calls.

Chromium is Debian's (`apt-get install chromium`), driven by Playwright through its executable;
`STOWAGE_CHROMIUM` names another one. Without it every browser test is skipped, with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import httpx
import pytest
from litestar import Litestar
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, sync_playwright

from backend.http.web import WEB_FOLDER
from backend.local.seaweedfs import SeaweedFS, ensure_bucket
from backend.settings import Settings
from tests.configuration import replace_settings
from tests.integration.live_server import serve

WEB_BUCKET = "stowage-web-test"
CHROMIUM = os.environ.get("STOWAGE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# Headless, as root, and quiet: no sandbox (it needs a user namespace as root), no GPU, and
# none of Chromium's background connections, which a machine without internet refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
# Why the browser tests cannot run here, if they cannot: each module skips itself with it, so a
# run without Chromium says so in one line per module, not one per test.
WHY_NO_BROWSER = (
    None
    if Path(CHROMIUM).is_file()
    else f"browser tests need Chromium at {CHROMIUM}: apt-get install chromium "
    "(scripts/test does, as root), or set STOWAGE_CHROMIUM"
)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the whole run; skips the test when there is none."""
    if WHY_NO_BROWSER:
        pytest.skip(WHY_NO_BROWSER)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class _QuietStaticFiles(SimpleHTTPRequestHandler):
    # Exact types, whatever the machine's mime.types says: modules must be JavaScript.
    extensions_map = {
        ".html": "text/html",
        ".js": "text/javascript",
        ".mjs": "text/javascript",
        ".css": "text/css",
        ".svg": "image/svg+xml",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def static_site(folder: Path) -> Iterator[str]:
    """Serve `folder` as it is (any static host would) on a loopback port; yield its origin."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietStaticFiles, directory=folder))
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@dataclass(frozen=True)
class WebStack:
    """The API on one origin, the web client on another that it allows, and one it does not."""

    api_url: str
    key: str
    page_url: str  # the web client, on an origin in CORS_ALLOW_ORIGINS and the bucket's CORS
    foreign_page_url: str  # the same files, on an origin neither allows

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the API directly (not through the browser), as the same owner."""
        headers = {"Authorization": f"Bearer {self.key}"}
        return httpx.request(method, self.api_url + path, headers=headers, timeout=30, **kwargs)


@contextlib.contextmanager
def web_stack(
    make_app: Callable[[Settings], Litestar],
    settings: Settings,
    seaweedfs: SeaweedFS,
    key: str,
    site: Path = WEB_FOLDER,
    **configured: Any,
) -> Iterator[WebStack]:
    """The API (served for real) allowing the web client's origin, on a bucket that does too.

    The page's origin serves `site`, the web client unless another folder is named. Beyond the
    test database and bucket, the API gets CORS_ALLOW_ORIGINS for the page and whatever else
    `configured` names, nothing more.
    """
    with (
        static_site(site) as page_url,
        static_site(site) as foreign_page_url,
    ):
        app_settings = replace_settings(
            settings, s3_bucket=WEB_BUCKET, cors_allow_origins=page_url, **configured
        )
        with serve(make_app(app_settings)) as api_url:
            # The bucket allows the page's origin and the API's own (the page it serves at /),
            # as scripts/dev and Terraform set it up.
            admin = seaweedfs.client()
            ensure_bucket(admin, WEB_BUCKET, versioning=True, cors_origins=[page_url, api_url])
            admin.close()
            yield WebStack(api_url, key, page_url, foreign_page_url)


@pytest.fixture
def web(
    make_app: Callable[[Settings], Litestar],
    make_key: Callable[[str], str],
    settings: Settings,
    seaweedfs: SeaweedFS,
) -> Iterator[WebStack]:
    """The web stack, signed in with an API key."""
    with web_stack(make_app, settings, seaweedfs, make_key("alice")) as stack:
        yield stack


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile (storage, cookies) for one test."""
    made = browser.new_context(accept_downloads=True)
    made.set_default_timeout(TIMEOUT_MS)
    yield made
    made.close()


@pytest.fixture
def page_problems() -> list[str]:
    """Errors the page's scripts threw and CSP violations, in order; the test fails on any."""
    return []


@pytest.fixture
def page(context: BrowserContext, page_problems: list[str]) -> Iterator[Page]:
    """A tab; an error the page's scripts throw, or a CSP violation, fails the test."""
    tab = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Trusted" in message.text:
            page_problems.append(message.text)

    tab.on("pageerror", lambda error: page_problems.append(str(error)))
    tab.on("console", on_console)
    yield tab
    assert page_problems == []

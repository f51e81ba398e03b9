"""An end user's access token is all a page on another origin needs to upload.

The API is configured with CORS_ALLOW_ORIGINS for the page and the OIDC_* settings of an
identity provider, and nothing else; the page signs in with a token that provider issued.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from playwright.sync_api import Page, expect

from backend.local.seaweedfs import SeaweedFS
from backend.settings import Settings
from tests.identity_provider import IdentityProvider, running_identity_provider
from tests.integration.web.conftest import WHY_NO_BROWSER, WebStack, web_stack
from tests.integration.web.test_web_client_browser import sign_in, upload_row

if WHY_NO_BROWSER:
    pytest.skip(WHY_NO_BROWSER, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def provider() -> Iterator[IdentityProvider]:
    with running_identity_provider() as running:
        yield running


@pytest.fixture
def token_web(
    make_app: Callable[[Settings], Litestar],
    settings: Settings,
    seaweedfs: SeaweedFS,
    provider: IdentityProvider,
) -> Iterator[WebStack]:
    """The web stack for an end user, Carol, signed in with her provider's access token."""
    with web_stack(
        make_app, settings, seaweedfs, provider.token("carol"), **provider.settings()
    ) as stack:
        yield stack


def test_a_page_on_another_origin_uploads_with_an_end_users_access_token(
    token_web: WebStack, page: Page, tmp_path: Path, make_key: Callable[[str], str]
) -> None:
    photo = tmp_path / "holiday.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40)
    sign_in(page, token_web.page_url, api_url=token_web.api_url, key=token_web.key)

    page.locator("#file-input").set_input_files([photo])

    expect(upload_row(page, "holiday.jpg").locator(".upload-status")).to_have_text(
        re.compile(r"^Ready")
    )
    (mine,) = token_web.api("GET", "/files").json()["items"]
    assert (mine["filename"], mine["status"]) == ("holiday.jpg", "ready")
    download = token_web.api("GET", f"/files/{mine['file_id']}/download").json()["url"]
    assert httpx.get(download).content == photo.read_bytes()
    # Carol's files are hers: an API key's owner on the same service does not see them.
    others = httpx.get(
        f"{token_web.api_url}/files",
        headers={"Authorization": f"Bearer {make_key('alice')}"},
    )
    assert others.json()["items"] == []


def test_the_readmes_fetch_snippet_uploads_with_an_access_token(
    token_web: WebStack, page: Page
) -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("<!-- snippet: fetch -->\n```js\n", 1)[1].split("```", 1)[0]
    page.goto(token_web.page_url)

    confirmed = page.evaluate(
        f"""async ({{ api, token }}) => {{
            {snippet}
            const file = new File(["from a token\\n"], "token.txt", {{ type: "text/plain" }});
            return upload(api, token, file);
        }}""",
        {"api": token_web.api_url, "token": token_web.key},
    )

    assert (confirmed["status"], confirmed["filename"]) == ("ready", "token.txt")

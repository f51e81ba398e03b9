"""The README's Uppy multipart setup, run in a real browser with Uppy 5's own bundle.

Uppy comes from npm (`uppy`, pinned in `uppy/package-lock.json`), installed on first use; where
npm is missing or cannot install it, these tests are skipped and say why.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request, Route

from backend.local.seaweedfs import SeaweedFS
from backend.settings import Settings
from tests.integration.web.conftest import WEB_BUCKET, WHY_NO_BROWSER, WebStack, web_stack

if WHY_NO_BROWSER:
    pytest.skip(WHY_NO_BROWSER, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UPPY_SITE = Path(__file__).parent / "uppy"
UPPY_BUNDLE = "/node_modules/uppy/dist/uppy.min.mjs"
MiB = 1024**2
SIZE = 2 * 8 * MiB + 12_345  # three parts of the API's 8 MiB, the last short
PART = re.compile(r"[?&]partNumber=(\d+)")


@pytest.fixture(scope="session")
def uppy_site() -> Path:
    """The folder with Uppy's bundle under node_modules: `npm ci` there when it is missing."""
    bundle = UPPY_SITE / UPPY_BUNDLE.lstrip("/")
    if installed_uppy() != pinned_uppy():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("the Uppy tests install Uppy with npm; there is none: apt-get install npm")
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            cwd=UPPY_SITE,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode or not bundle.is_file() or installed_uppy() != pinned_uppy():
            reason = (done.stderr.strip().splitlines() or ["no bundle after install"])[-1]
            pytest.skip(f"npm could not install Uppy for the Uppy tests: {reason}")
    return UPPY_SITE


def pinned_uppy() -> str:
    """The Uppy version package.json pins."""
    package = json.loads((UPPY_SITE / "package.json").read_text(encoding="utf-8"))
    return str(package["dependencies"]["uppy"])


def installed_uppy() -> str | None:
    """The Uppy version under node_modules, if any."""
    installed = UPPY_SITE / "node_modules" / "uppy" / "package.json"
    if not installed.is_file():
        return None
    return str(json.loads(installed.read_text(encoding="utf-8"))["version"])


@pytest.fixture
def uppy_web(
    make_app: Callable[[Settings], Litestar],
    make_key: Callable[[str], str],
    settings: Settings,
    seaweedfs: SeaweedFS,
    uppy_site: Path,
) -> Iterator[WebStack]:
    """The API and bucket allowing a page that serves Uppy's bundle."""
    with web_stack(make_app, settings, seaweedfs, make_key("alice"), site=uppy_site) as stack:
        yield stack


def readme_snippet(name: str) -> str:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    return readme.split(f"<!-- snippet: {name} -->\n```js\n", 1)[1].split("```", 1)[0]


def start_uppy(page: Page, stack: WebStack) -> None:
    """Open the page, run the README's snippet on Uppy's bundle, and add one file of SIZE bytes.

    The page gets `window.uppy`, `window.fileId` (Uppy's id of the file), and
    `window.uploadedParts` (part numbers in the order Uppy reported them sent).
    """
    page.goto(f"{stack.page_url}/index.html")
    script = """async ({ api, token, size }) => {
        const { Uppy, AwsS3 } = await import("BUNDLE");
        const auth = () => ({ Authorization: `Bearer ${token}` });
        SNIPPET
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; i += 1) bytes[i] = i % 251;
        window.uppy = uppy;
        window.uploadedParts = [];
        uppy.on("s3-multipart:part-uploaded", (file, part) => {
            window.uploadedParts.push(part.PartNumber);
        });
        window.fileId = uppy.addFile({
            name: "video.bin",
            type: "application/octet-stream",
            data: new File([bytes], "video.bin", { type: "application/octet-stream" }),
        });
    }"""
    script = script.replace("BUNDLE", UPPY_BUNDLE).replace(
        "SNIPPET", readme_snippet("uppy-multipart")
    )
    page.evaluate(script, {"api": stack.api_url, "token": stack.key, "size": SIZE})


def upload(page: Page) -> None:
    """Start Uppy's upload (without waiting) as `window.upload`."""
    page.evaluate(
        """() => {
            window.upload = uppy.upload().then((result) => ({
                successful: result.successful.length,
                failed: result.failed.map((file) => String(file.error)),
            }));
        }"""
    )


def outcome(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = page.evaluate("() => window.upload")
    return result


def expected_bytes() -> bytes:
    return (bytes(range(251)) * (SIZE // 251 + 1))[:SIZE]


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def wait_until(page: Page, condition: Callable[[], bool], what: str) -> None:
    """Let the page run (and route handlers fire) until `condition` holds."""
    deadline = time.monotonic() + 15
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(20)


def part_number(request: Request) -> int | None:
    found = PART.search(request.url)
    return int(found.group(1)) if found and request.method == "PUT" else None


def test_the_readmes_uppy_multipart_setup_uploads_a_file_in_signed_parts(
    uppy_web: WebStack, page: Page
) -> None:
    sent: list[tuple[int, str | None]] = []

    def on_request(request: Request) -> None:
        number = part_number(request)
        if number is not None:
            sent.append((number, request.headers.get("x-amz-checksum-sha256")))

    page.on("request", on_request)
    start_uppy(page, uppy_web)
    upload(page)

    assert outcome(page) == {"successful": 1, "failed": []}
    (mine,) = uppy_web.api("GET", "/files").json()["items"]
    assert (mine["filename"], mine["size"], mine["status"]) == ("video.bin", SIZE, "ready")
    assert mine["integrity"] == "part_sha256"
    assert mine["multipart"]["part_count"] == 3
    # Each part went to S3 once, under the checksum of exactly its bytes.
    data = expected_bytes()
    assert sorted(sent) == [
        (n, b64_sha256(data[(n - 1) * 8 * MiB : n * 8 * MiB])) for n in (1, 2, 3)
    ]
    download = uppy_web.api("GET", f"/files/{mine['file_id']}/download").json()["url"]
    assert httpx.get(download).content == data


def hold_parts_after_the_first(page: Page) -> tuple[Counter[int], list[Route], list[bool]]:
    """Route S3 part PUTs: part 1 goes through; others hang while `holding[0]` is true.

    Returns (PUTs seen per part number, the hanging routes, the switch).
    """
    seen: Counter[int] = Counter()
    held: list[Route] = []
    holding = [True]

    def on_route(route: Route) -> None:
        number = part_number(route.request)
        if number is None:
            route.continue_()
            return
        seen[number] += 1
        if number != 1 and holding[0]:
            held.append(route)  # never answered: Uppy aborts it when paused
            return
        route.continue_()

    page.route(PART, on_route)
    return seen, held, holding


def release(held: list[Route]) -> None:
    """Answer the hanging routes whose requests the page has given up on: a cut connection."""
    for route in held:
        with contextlib.suppress(PlaywrightError):
            route.abort("connectionreset")


def test_uppy_resumes_a_paused_upload_from_the_apis_part_list(
    uppy_web: WebStack, page: Page
) -> None:
    seen, held, holding = hold_parts_after_the_first(page)
    listings: list[str] = []
    page.on(
        "request",
        lambda request: (
            listings.append(request.url)
            if request.method == "GET" and request.url.endswith("/parts")
            else None
        ),
    )
    start_uppy(page, uppy_web)
    upload(page)
    wait_until(page, lambda: len(held) == 2, "parts 2 and 3 to be on their way")
    page.wait_for_function("() => window.uploadedParts.includes(1)")

    page.evaluate("() => uppy.pauseResume(window.fileId)")  # paused: parts 2 and 3 are cut
    holding[0] = False
    release(held)
    assert listings == []
    page.evaluate("() => uppy.pauseResume(window.fileId)")  # resumed

    assert outcome(page) == {"successful": 1, "failed": []}
    (mine,) = uppy_web.api("GET", "/files").json()["items"]
    assert len(listings) == 1 and mine["file_id"] in listings[0]
    # Part 1, which S3 had, was not sent again; the two cut parts were.
    assert seen == {1: 1, 2: 2, 3: 2}
    assert mine["status"] == "ready"
    download = uppy_web.api("GET", f"/files/{mine['file_id']}/download").json()["url"]
    assert httpx.get(download).content == expected_bytes()


def test_removing_a_file_from_uppy_aborts_its_upload_and_leaves_nothing(
    uppy_web: WebStack, page: Page, seaweedfs: SeaweedFS
) -> None:
    _, held, _ = hold_parts_after_the_first(page)
    start_uppy(page, uppy_web)
    upload(page)
    wait_until(page, lambda: len(held) == 2, "parts 2 and 3 to be on their way")
    (pending,) = uppy_web.api("GET", "/files", params={"status": "pending"}).json()["items"]
    s3 = seaweedfs.client()

    def uploads_in_progress() -> list[str]:
        listed = s3.list_multipart_uploads(Bucket=WEB_BUCKET).get("Uploads", [])
        return [u["Key"] for u in listed if u["Key"].endswith(f"/{pending['file_id']}")]

    assert len(uploads_in_progress()) == 1  # part 1 is in S3, under the file's key

    page.evaluate("() => uppy.removeFile(window.fileId)")
    release(held)

    wait_until(page, lambda: uploads_in_progress() == [], "S3 to abort the upload")
    wait_until(
        page,
        lambda: uppy_web.api("GET", f"/files/{pending['file_id']}").status_code == 404,
        "the file to be deleted",
    )
    # Nor was anything stored under the file's key.
    listed = s3.list_object_versions(Bucket=WEB_BUCKET).get("Versions", [])
    assert [v["Key"] for v in listed if v["Key"].endswith(f"/{pending['file_id']}")] == []

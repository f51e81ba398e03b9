"""The web client in a real browser: a page on another origin uploads, lists, downloads, deletes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, Request, expect

from tests.integration.api import post_form
from tests.integration.web.conftest import WHY_NO_BROWSER, WebStack

if WHY_NO_BROWSER:
    pytest.skip(WHY_NO_BROWSER, allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

UNICODE_NAME = "Grüße aus Tōkyō 東京 🌸.txt"
EMPTY_NAME = "empty.txt"
LARGE_NAME = "several-megabytes.bin"


def sign_in(page: Page, url: str, *, api_url: str, key: str, refused: bool = False) -> None:
    """Open the web client at `url`, sign in with `key` to the API at `api_url`, and wait."""
    page.goto(url)
    page.get_by_label("API key or access token").fill(key)
    page.get_by_label("API URL").fill(api_url)
    page.get_by_role("button", name="Sign in").click()
    if refused:
        expect(page.get_by_role("alert")).to_be_visible()
    else:
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def upload_row(page: Page, name: str) -> Locator:
    return page.locator("#uploads li").filter(has=page.locator(".upload-name", has_text=name))


def file_row(page: Page, name: str) -> Locator:
    return page.locator("#files-body tr").filter(has=page.get_by_role("cell", name=name))


def write(folder: Path, files: dict[str, bytes]) -> list[Path]:
    paths = [folder / name for name in files]
    for path in paths:
        path.write_bytes(files[path.name])
    return paths


def test_a_page_on_another_origin_uploads_lists_downloads_and_deletes(
    web: WebStack, page: Page, tmp_path: Path
) -> None:
    files = {
        UNICODE_NAME: "Grüße, 東京!\n".encode(),
        EMPTY_NAME: b"",
        LARGE_NAME: bytes(range(256)) * 24_000,  # 6 MB
    }
    sign_in(page, web.page_url, api_url=web.api_url, key=web.key)
    expect(page.locator("#files-empty")).to_have_text("No files here yet.")

    page.locator("#file-input").set_input_files(write(tmp_path, files))

    for name in files:
        expect(upload_row(page, name).locator(".upload-status")).to_have_text(
            re.compile(r"^Ready · .* SHA-256 checked$")
        )
    expect(page.locator("#files-body tr")).to_have_count(3)
    # The browser hashed each file with Web Crypto, and the API recorded exactly those bytes.
    listed = web.api("GET", "/files").json()["items"]
    assert {f["filename"]: (f["size"], f["sha256"]) for f in listed} == {
        name: (len(body), hashlib.sha256(body).hexdigest()) for name, body in files.items()
    }

    for name in (LARGE_NAME, UNICODE_NAME):
        with page.expect_download() as downloading:
            file_row(page, name).get_by_role("button", name="Download").click()
        download = downloading.value
        assert download.suggested_filename == name
        assert Path(download.path()).read_bytes() == files[name]

    row = file_row(page, UNICODE_NAME)
    row.get_by_role("button", name="Delete").click()
    row.get_by_role("button", name="Confirm delete").click()
    expect(file_row(page, UNICODE_NAME)).to_have_count(0)
    expect(page.locator("#files-body tr")).to_have_count(2)
    remaining = web.api("GET", "/files").json()["items"]
    assert sorted(f["filename"] for f in remaining) == [EMPTY_NAME, LARGE_NAME]


def test_a_page_on_an_origin_the_api_does_not_allow_stops_at_the_preflight(
    web: WebStack, page: Page
) -> None:
    sign_in(page, web.foreign_page_url, api_url=web.api_url, key=web.key, refused=True)

    message = page.get_by_role("alert")
    expect(message).to_contain_text("CORS preflight")
    expect(message).to_contain_text(f"add {web.foreign_page_url} to the API's CORS_ALLOW_ORIGINS")
    expect(page.locator("#workspace")).to_be_hidden()


def test_a_wrong_key_and_an_unreachable_api_are_explained(web: WebStack, page: Page) -> None:
    sign_in(page, web.page_url, api_url=web.api_url, key="stw_not-a-real-key", refused=True)
    expect(page.get_by_role("alert")).to_have_text("The API did not accept this key or token.")

    page.get_by_label("API URL").fill("http://127.0.0.1:9")  # discard: nothing answers
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Could not reach the API at http://127.0.0.1:9: check the address and that it is running."
    )


def test_refusals_by_the_api_and_by_s3_are_shown_as_sentences(
    web: WebStack, page: Page, tmp_path: Path
) -> None:
    sign_in(page, web.page_url, api_url=web.api_url, key=web.key)

    # The API's problem document: HTML is not an allowed type.
    page.locator("#file-input").set_input_files(write(tmp_path, {"page.html": b"<p>hi</p>"}))
    expect(upload_row(page, "page.html")).to_have_class(re.compile(r"\bfailed\b"))
    expect(upload_row(page, "page.html").locator(".upload-status")).to_contain_text("text/html")

    # S3's XML error: a Blob that announces fewer bytes than it holds, through the same module.
    message = page.evaluate(
        """async ({ apiUrl, credential }) => {
            const { uploadFile } = await import("./upload.js");
            class Shrunk extends Blob { get size() { return 3; } }
            const file = new Shrunk(["hello"], { type: "text/plain" });
            file.name = "shrunk.txt";
            try {
                await uploadFile(file, { apiUrl, credential, hashLimit: 0 });
                return "uploaded";
            } catch (error) {
                return error.message;
            }
        }""",
        {"apiUrl": web.api_url, "credential": web.key},
    )
    assert message.startswith("Storage refused the file: the file is larger than announced")
    assert "EntityTooLarge" in message


def test_the_file_list_pages_with_the_cursor_and_searches_by_name(
    web: WebStack, page: Page
) -> None:
    names = [f"report-{n:02}.txt" for n in range(1, 12)] + ["notes.txt"]
    for name in names:
        ticket = web.api(
            "POST",
            "/files/upload",
            json={"filename": name, "content_type": "text/plain", "size": 2},
        ).json()
        assert post_form(ticket["upload"], b"hi").status_code == 204
        assert web.api("POST", f"/files/{ticket['file_id']}/confirm").status_code == 200
    sign_in(page, web.page_url, api_url=web.api_url, key=web.key)

    rows = page.locator("#files-body tr")
    expect(rows).to_have_count(10)
    expect(rows.first.locator("td.name")).to_have_text("notes.txt")  # newest first
    page.get_by_role("button", name="Older").click()
    expect(page.locator("#page-label")).to_have_text("Page 2")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("button", name="Older")).to_be_disabled()
    page.get_by_role("button", name="Newer").click()
    expect(rows).to_have_count(10)

    page.get_by_label("Search files by name").fill("NOTES")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.name")).to_have_text("notes.txt")
    page.get_by_label("Search files by name").fill("nothing like it")
    expect(page.locator("#files-empty")).to_have_text("No file matches this search.")


def test_the_page_the_api_serves_itself_works_under_its_content_security_policy(
    web: WebStack, page: Page, page_problems: list[str], tmp_path: Path
) -> None:
    response = page.goto(web.api_url + "/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # Same origin: the API URL stays empty.
    page.get_by_label("API key or access token").fill(web.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.locator("#file-input").set_input_files(write(tmp_path, {"hello.txt": b"hello\n"}))
    expect(upload_row(page, "hello.txt").locator(".upload-status")).to_have_text(
        re.compile(r"^Ready")
    )
    expect(file_row(page, "hello.txt")).to_have_count(1)

    # Trusted Types: no string can become markup on this page, whatever a bug might try.
    blocked = page.evaluate(
        """() => {
            try { document.body.insertAdjacentHTML("beforeend", "<b>x</b>"); return "allowed"; }
            catch (error) { return error.name; }
        }"""
    )
    assert blocked == "TypeError"
    assert page_problems, "the browser reports the violation"
    page_problems.clear()


def test_the_readmes_fetch_snippet_uploads_from_another_origin(web: WebStack, page: Page) -> None:
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    snippet = readme.split("<!-- snippet: fetch -->\n```js\n", 1)[1].split("```", 1)[0]
    page.goto(web.page_url)

    confirmed = page.evaluate(
        f"""async ({{ api, token }}) => {{
            {snippet}
            const file = new File(["hello, stowage\\n"], "hello.txt", {{ type: "text/plain" }});
            return upload(api, token, file);
        }}""",
        {"api": web.api_url, "token": web.key},
    )

    assert confirmed["status"] == "ready"
    assert confirmed["filename"] == "hello.txt"
    assert confirmed["size"] == len(b"hello, stowage\n")


def test_files_dropped_on_the_page_are_uploaded(web: WebStack, page: Page) -> None:
    sign_in(page, web.page_url, api_url=web.api_url, key=web.key)

    dropped = page.evaluate_handle(
        """() => {
            const data = new DataTransfer();
            data.items.add(new File(["dropped\\n"], "dropped.txt", { type: "text/plain" }));
            return data;
        }"""
    )
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": dropped})

    expect(upload_row(page, "dropped.txt").locator(".upload-status")).to_have_text(
        re.compile(r"^Ready")
    )
    expect(file_row(page, "dropped.txt")).to_have_count(1)


def test_the_upload_module_sends_a_presigned_put_as_well(web: WebStack, page: Page) -> None:
    page.goto(web.page_url)

    confirmed = page.evaluate(
        """async ({ apiUrl, credential }) => {
            const { uploadFile } = await import("./upload.js");
            const file = new File(["sent as the body\\n"], "put.txt", { type: "text/plain" });
            const seen = [];
            const result = await uploadFile(file, {
                apiUrl, credential, method: "PUT", onStage: (stage) => seen.push(stage),
            });
            return { ...result, seen };
        }""",
        {"apiUrl": web.api_url, "credential": web.key},
    )

    assert confirmed["status"] == "ready"
    assert confirmed["sha256"] == hashlib.sha256(b"sent as the body\n").hexdigest()
    assert confirmed["seen"] == ["hashing", "announcing", "sending", "confirming"]


MIB = 1024 * 1024
# A 17 MiB file made in the page (8 MiB parts: 3 of them), and its bytes here to compare.
MAKE_FILE = """
    const size = 17 * 1024 * 1024;
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 1) bytes[i] = (i * 7 + (i >> 13)) & 255;
    const file = new File([bytes], "parts.bin",
                          { type: "application/octet-stream", lastModified: 1 });
"""
UPLOAD_IN_PARTS = (
    """async ({ apiUrl, credential }) => {
        const { uploadFile } = await import("./upload.js");
    """
    + MAKE_FILE
    + """
        try {
            return await uploadFile(file, { apiUrl, credential, multipartAbove: 1024 * 1024 });
        } catch (error) {
            return error.message;
        }
    }"""
)


def _expected_bytes() -> bytes:
    return bytes((i * 7 + (i >> 13)) & 255 for i in range(17 * MIB))


def test_a_large_file_goes_in_parts_and_resumes_after_a_reload(web: WebStack, page: Page) -> None:
    page.goto(web.page_url)
    parts_sent: list[int] = []

    def record(request: Request) -> None:
        if request.method == "PUT" and (found := re.search(r"[?&]partNumber=(\d+)", request.url)):
            parts_sent.append(int(found.group(1)))

    page.on("request", record)
    # The network drops every try of part 3: the other parts land, the upload stops.
    page.route(re.compile(r"partNumber=3&"), lambda route: route.abort())
    keys = {"apiUrl": web.api_url, "credential": web.key}

    first = page.evaluate(UPLOAD_IN_PARTS, keys)

    assert "cut off" in first, first
    pending = web.api("GET", "/files?status=pending").json()["items"]
    (file_id,) = [f["file_id"] for f in pending if f["filename"] == "parts.bin"]
    held = {p["part_number"] for p in web.api("GET", f"/files/{file_id}/parts").json()["parts"]}
    assert held == {1, 2}
    page.unroute(re.compile(r"partNumber=3&"))
    page.reload()  # what survives is the page's storage, as after closing the tab
    sent_before = len(parts_sent)

    confirmed = page.evaluate(UPLOAD_IN_PARTS, keys)

    assert confirmed["file_id"] == file_id, confirmed
    assert confirmed["integrity"] == "part_sha256"
    assert parts_sent[sent_before:] == [3]
    url = web.api("GET", f"/files/{file_id}/download").json()["url"]
    assert hashlib.sha256(httpx.get(url, timeout=60).content).digest() == (
        hashlib.sha256(_expected_bytes()).digest()
    )

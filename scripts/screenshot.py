#!/usr/bin/env python3
"""Take docs/web-client.png: the web client in headless Chromium, mid-upload, on `scripts/dev`.

Runs a throwaway copy of scripts/dev (its own data folder and ports), uploads a few files
through the page (one of them slowed down by Chromium's network throttling, so a progress bar
is caught half-way, and one the API refuses), and saves the screenshot.

    .venv/bin/python scripts/screenshot.py [OUTPUT.png]
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from backend.local.seaweedfs import free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("STOWAGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

SAMPLES = {
    "quarterly-report.pdf": b"%PDF-1.7\n" + bytes(2_400_000),
    "team-photo.jpg": b"\xff\xd8\xff\xe0" + bytes(1_300_000),
    "Grüße - Παράδειγμα.txt": "Grüße!\n".encode(),
    "notes.md": b"# Notes\n",
}
SLOW = {"site-backup.zip": b"PK\x03\x04" + bytes(48_000_000)}
REFUSED = {"landing-page.html": b"<p>hi</p>"}


def start_dev_stack(data_dir: Path, port: int) -> tuple[subprocess.Popen[str], str]:
    """scripts/dev on free ports; its process and the API key it prints."""
    env = {**os.environ, "PORT": str(port), "S3_PORT": str(free_port()), "DATA_DIR": str(data_dir)}
    # The project's own script, by absolute path.
    dev = subprocess.Popen(  # noqa: S603
        [str(ROOT / "scripts" / "dev")], env=env, stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    if dev.stdout is None:
        raise RuntimeError("no pipe from scripts/dev")
    deadline = time.monotonic() + 60
    for line in dev.stdout:
        if found := re.search(r"API key\s+(stw_\S+)", line):
            # Keep reading its log, so that a full pipe never stalls the API.
            threading.Thread(target=dev.stdout.read, daemon=True).start()
            return dev, found.group(1)
        if time.monotonic() > deadline:
            break
    dev.terminate()
    raise SystemExit("scripts/dev did not start: run it by hand to see why")


def stage(page: Page, folder: Path) -> None:
    """Upload the samples, then a large file at a crawl, and stop while it is half-way."""
    for name, body in {**SAMPLES, **REFUSED, **SLOW}.items():
        (folder / name).write_bytes(body)
    page.locator("#file-input").set_input_files([folder / name for name in SAMPLES])
    expect(page.locator("#files-body tr")).to_have_count(len(SAMPLES), timeout=30_000)
    page.locator("#file-input").set_input_files([folder / name for name in REFUSED])
    expect(page.locator("#uploads li.failed")).to_have_count(1)

    # 6 MB/s from here on: the next upload is still going when the picture is taken.
    cdp = page.context.new_cdp_session(page)
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 6e6},
    )
    page.locator("#file-input").set_input_files([folder / name for name in SLOW])
    expect(page.locator("#uploads li.active .upload-status")).to_contain_text("MB/s")
    page.wait_for_timeout(2500)


def main() -> int:
    """Take the screenshot; its path is the first argument (default docs/web-client.png)."""
    output = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "docs" / "web-client.png")
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        dev, key = start_dev_stack(Path(scratch) / "data", port)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1100, "height": 1000})
                page.goto(f"http://127.0.0.1:{port}/")
                page.get_by_label("API key or access token").fill(key)
                page.get_by_role("button", name="Sign in").click()
                stage(page, Path(scratch))
                output.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=output, full_page=True)
                browser.close()
        finally:
            dev.send_signal(signal.SIGTERM)
            dev.wait(timeout=30)
    print(f"wrote {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

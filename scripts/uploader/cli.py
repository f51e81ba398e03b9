"""The command line: parse arguments, run one command, print lines or one JSON document."""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.filesize import decimal

from uploader.progress import Bars
from uploader.transfers import Result, download_target, fetch, guess_content_type, upload_file
from uploader.transport import Api, Failure, file_route, note, retrying

DEFAULT_API = "http://127.0.0.1:8000"


class UsageError(Exception):
    """The command line itself is wrong: exit code 2, nothing was sent."""


def command_upload(args: argparse.Namespace, api: Api, bars: Bars) -> int:
    """Upload every FILE, `--jobs` at a time; one line (or one JSON entry) per file."""
    paths = [Path(name) for name in args.files]
    if args.resume and len(paths) != 1:
        raise UsageError("--resume continues one upload: give exactly one FILE")
    for path in paths:
        if not path.is_file():
            raise UsageError(f"not a file: {path}")
    results: dict[Path, Result] = {}
    pool = ThreadPoolExecutor(max_workers=args.jobs)
    try:
        futures = {
            pool.submit(
                upload_file,
                api,
                path,
                args.content_type or guess_content_type(path),
                bars,
                jobs=args.jobs,
                resume=args.resume,
            ): path
            for path in paths
        }
        for future in as_completed(futures):
            result = results[futures[future]] = future.result()
            if result.error:
                note(f"error: {result.file}: {result.error['code']}: {result.error['detail']}")
            elif not args.json:
                print(f"uploaded {result.file} -> {result.file_id}", flush=True)
    finally:
        # On Ctrl-C, files still queued must not start; a normal end has nothing left anyway.
        pool.shutdown(wait=False, cancel_futures=True)
    if args.json:
        print_json([asdict(results[path]) for path in paths])
    return 1 if any(result.error for result in results.values()) else 0


def command_list(args: argparse.Namespace, api: Api, _bars: Bars) -> int:
    """Every file matching the filters (all pages), newest first."""
    params: dict[str, Any] = {"limit": 100}
    if args.status:
        params["status"] = args.status
    if args.q:
        params["q"] = args.q
    items: list[dict[str, Any]] = []
    while True:
        page = api.call("GET", "/files", params=params)
        items.extend(page["items"])
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    if args.json:
        print_json(items)
        return 0
    for item in items:
        size = decimal(item["size"])
        print(f"{item['file_id']}  {item['status']:<8}  {size:>9}  {item['filename']}")
    return 0


def command_info(args: argparse.Namespace, api: Api, _bars: Bars) -> int:
    """One file's record."""
    file = api.call("GET", file_route(args.id))
    if args.json:
        print_json(file)
    else:
        for name, value in file.items():
            print(f"{name + ':':<14}{'-' if value is None else value}")
    return 0


def command_delete(args: argparse.Namespace, api: Api, _bars: Bars) -> int:
    """Delete a file: its bytes and its record."""
    api.call("DELETE", file_route(args.id), expect=204)
    if args.json:
        print_json({"file_id": args.id, "status": "deleted"})
    else:
        print(f"deleted {args.id}")
    return 0


def command_download(args: argparse.Namespace, api: Api, bars: Bars) -> int:
    """Download a file to disk, verified against its SHA-256 before it gets its name."""
    file = api.call("GET", file_route(args.id))
    target = download_target(args.output, file)
    try:
        with bars.bar(f"downloading {target.name}", file["size"]) as bar:
            retrying(lambda: fetch(api, file, target, bar), f"download of {target}")
    except OSError as exc:
        raise Failure("write_failed", f"{target}: {exc.strerror or exc}") from exc
    if args.json:
        print_json({"file_id": file["file_id"], "path": str(target), "sha256": file["sha256"]})
    else:
        print(f"downloaded {file['file_id']} -> {target}")
    return 0


def print_json(document: Any) -> None:
    """One JSON document on stdout."""
    print(json.dumps(document, indent=2, ensure_ascii=False), flush=True)


def positive(text: str) -> int:
    """argparse type: an integer of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The command line: a subcommand each, all sharing --api, --key and --json."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--api",
        default=os.environ.get("FILES_API_URL", DEFAULT_API),
        help="API base URL (env FILES_API_URL; default %(default)s)",
    )
    common.add_argument(
        "--key", default=os.environ.get("FILES_API_KEY"), help="API key (env FILES_API_KEY)"
    )
    common.add_argument("--json", action="store_true", help="print one JSON document")

    parser = argparse.ArgumentParser(
        prog="upload.py", description="Upload files to Stowage and manage them."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    upload = commands.add_parser("upload", parents=[common], help="upload files")
    upload.add_argument("files", nargs="+", metavar="FILE")
    upload.add_argument(
        "--jobs", "-j", type=positive, default=4, help="files, and parts of a large file, at once"
    )
    upload.add_argument(
        "--resume", metavar="FILE_ID", help="continue this pending upload (one FILE only)"
    )
    upload.add_argument("--content-type", help="media type for every FILE (default: guessed)")
    upload.set_defaults(run=command_upload)

    listing = commands.add_parser("list", parents=[common], help="list files, newest first")
    listing.add_argument("--status", choices=["pending", "ready", "rejected"])
    listing.add_argument("--q", help="filename contains (any case)")
    listing.set_defaults(run=command_list)

    for name, run, summary in [
        ("info", command_info, "show one file"),
        ("download", command_download, "download a file, verified"),
        ("delete", command_delete, "delete a file"),
    ]:
        command = commands.add_parser(name, parents=[common], help=summary)
        command.add_argument("id", metavar="ID")
        command.set_defaults(run=run)
        if name == "download":
            command.add_argument("-o", "--output", metavar="PATH", help="file or directory")
    return parser


def api_from(args: argparse.Namespace) -> Api:
    """The API the arguments point at, or a UsageError saying what is missing."""
    if not args.key:
        raise UsageError("an API key is needed: set FILES_API_KEY or pass --key")
    if urlsplit(args.api).scheme not in {"http", "https"}:
        raise UsageError(f"--api must be an http:// or https:// URL, not {args.api!r}")
    return Api(args.api, args.key)


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    bars = Bars()
    try:
        api = api_from(args)
        with bars.progress:
            return int(args.run(args, api, bars))
    except UsageError as exc:
        note(f"{parser.prog}: error: {exc}")
        return 2
    except Failure as exc:
        note(f"error: {exc}")
        if args.json:
            print_json({"error": exc.as_json()})
        return 1
    except KeyboardInterrupt:
        note("interrupted; files not yet confirmed stay pending")
        sys.stdout.flush()
        # Skip waiting for the upload threads still running, which a normal exit would do.
        os._exit(130)

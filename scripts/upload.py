#!/usr/bin/env python3
"""Stowage from the terminal: upload files straight to S3, then list, inspect, download, delete.

    upload.py upload FILE... [--jobs N] [--content-type TYPE]
    upload.py list [--status pending|ready|rejected] [--q TEXT]
    upload.py info ID
    upload.py download ID [-o PATH]
    upload.py delete ID

Every command also takes --api URL (or FILES_API_URL; default http://127.0.0.1:8000),
--key KEY (or FILES_API_KEY, which is better: arguments are visible to other users of the
machine) and --json for one machine-readable JSON document on stdout.

Exit codes: 0 success, 1 a file or request failed, 2 usage error.
Needs the client extras: `pip install -e '.[client]'` (requests, requests-toolbelt, rich).
Its parts live beside it in uploader/: transport (API, S3, retries), progress, transfers, cli.
"""

import sys

from uploader.cli import main

if __name__ == "__main__":
    sys.exit(main())

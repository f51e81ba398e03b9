"""A served app keeps what its startup built out of the garbage collector's full passes.

uvicorn's factory calls `create_app()` without arguments; an app a test builds is given its
settings and leaves the test process's collector alone. Run in a child process, so that what
is frozen there stays there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import gc
from litestar.testing import TestClient
from backend.app import create_app
from backend.settings import load_settings
with TestClient(create_app(load_settings())):
    given = gc.get_freeze_count()
with TestClient(create_app()):
    served = gc.get_freeze_count()
print(given, served)
"""


def test_only_a_served_app_freezes_its_startup_objects(tmp_path: Path) -> None:
    environment = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "S3_BUCKET": "stowage-test",
        "S3_ENDPOINT_URL": "http://127.0.0.1:9",  # never called: startup needs no S3
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "unused",
        "AWS_SECRET_ACCESS_KEY": "unused",
        "LOG_LEVEL": "warning",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
        cwd=Path(__file__).parents[2],
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    given, served = (int(count) for count in done.stdout.split()[-2:])
    assert given == 0
    assert served > 10_000  # the modules, routes and clients startup made

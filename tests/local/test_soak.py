"""A small soak end to end: outages during uploads lose nothing and leave nothing behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SOAK = Path(__file__).parents[2] / "scripts" / "bench" / "soak.py"


def test_a_small_soak_with_s3_paused_and_restarted_and_the_api_killed_holds_every_check() -> None:
    run = subprocess.run(
        [sys.executable, str(SOAK), "--uploads", "60", "--in-flight", "10", "--form-ttl", "20"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    assert "all checks held" in run.stdout
    for outage in ("outage: pause", "outage: restart_s3", "outage: kill_api"):
        assert outage in run.stdout

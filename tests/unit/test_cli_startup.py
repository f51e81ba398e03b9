"""`python -m backend --help` and usage errors answer without loading the database layer."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "psycopg", "boto3", "botocore", "litestar")

PROBE = """
import sys
from backend.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(HEAVY) | {
    m for m in sys.modules if m.startswith("backend.db")
})
print("loaded:", ",".join(heavy), "exit:", code)
"""


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["keys", "--help"], ["keys", "create"], ["nonsense"]],
    ids=["help", "subcommand-help", "missing-option", "unknown-command"],
)
def test_help_and_usage_errors_load_nothing_heavy(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}", *argv],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    loaded, _, code = result.stdout.strip().splitlines()[-1].partition(" exit: ")
    assert loaded == "loaded: "
    assert code in {"0", "2"}

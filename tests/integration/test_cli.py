"""The command line, run as a user would: `python -m backend ...` in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from backend.domain.keys import KeyService
from backend.errors import NotAuthenticated
from backend.local.seaweedfs import free_port


@pytest.fixture
def run(database_url: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run the CLI with this test's database in its environment."""

    def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "S3_BUCKET": "stowage-test",
            **env,
        }
        return subprocess.run(
            [sys.executable, "-m", "backend", *args],
            capture_output=True,
            text=True,
            env=environment,
            timeout=60,
            check=False,
        )

    return run_cli


def test_keys_create_prints_the_key_alone_on_the_last_line_and_stores_only_a_hash(
    run: Callable[..., subprocess.CompletedProcess[str]], engine: sa.Engine
) -> None:
    result = run("keys", "create", "--owner", "carol")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("stw_") and " " not in key
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT key_id, key_hash FROM api_keys")).all()
    assert len(stored) == 1
    assert key not in stored[0] and key.split("_", 2)[2] not in stored[0].key_hash
    assert KeyService(engine).authenticate(key)  # the printed key works


def test_keys_list_shows_keys_without_secrets_and_revoke_disables_them(
    run: Callable[..., subprocess.CompletedProcess[str]], engine: sa.Engine
) -> None:
    key = run("keys", "create", "--owner", "dave").stdout.strip().splitlines()[-1]
    key_id = key.split("_")[1]

    listed = run("keys", "list")
    assert listed.returncode == 0
    assert key_id in listed.stdout and "dave" in listed.stdout and "active" in listed.stdout
    assert key not in listed.stdout

    revoked = run("keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in run("keys", "list").stdout
    with pytest.raises(NotAuthenticated):
        KeyService(engine).authenticate(key)


def test_revoke_accepts_the_full_key(run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    key = run("keys", "create", "--owner", "erin").stdout.strip().splitlines()[-1]
    assert run("keys", "revoke", key).returncode == 0


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("keys", "revoke", "no-such-key"), {}, "No API key matches"),
        (("keys", "list"), {"DATABASE_URL": ""}, "DATABASE_URL"),
        (("keys", "list"), {"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        (("keys", "list"), {"UPLOAD_URL_TTL_SECONDS": "soon"}, "UPLOAD_URL_TTL_SECONDS"),
        (("keys", "list"), {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}, "unreachable"),
    ],
)
def test_command_errors_are_one_human_line(
    run: Callable[..., subprocess.CompletedProcess[str]],
    args: tuple[str, ...],
    env: dict[str, str],
    message: str,
) -> None:
    result = run(*args, **env)
    assert result.returncode == 1
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_db_upgrade_is_idempotent(run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    first, second = run("db", "upgrade"), run("db", "upgrade")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr


def test_usage_errors_exit_2(run: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    assert run("keys").returncode == 2
    assert run("frobnicate").returncode == 2


def test_serve_answers_health_and_stops_on_ctrl_c(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "S3_BUCKET": "stowage-test",
        "PORT": str(port),
    }
    log = tmp_path / "serve.log"
    with (
        log.open("w") as output,
        subprocess.Popen(
            [sys.executable, "-m", "backend", "serve"], env=env, stdout=output, stderr=output
        ) as server,
    ):
        try:
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "serve did not answer"
                try:
                    response = httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1)
                    break
                except httpx.TransportError:
                    time.sleep(0.2)
            assert response.status_code == 200
        finally:
            server.send_signal(signal.SIGINT)
            assert server.wait(timeout=20) == 0, log.read_text()


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "backend", "serve"],
        ["-m", "uvicorn", "--factory", "backend.app:create_app"],
    ],
)
def test_starting_without_configuration_is_one_line_naming_the_variable(
    command: list[str],
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "S3_BUCKET"}}
    result = subprocess.run(
        [sys.executable, *command], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "configuration error: DATABASE_URL: required but not set"
    ]


def test_quota_set_and_show_name_an_owner_and_take_human_sizes(
    run: Callable[..., subprocess.CompletedProcess[str]], engine: sa.Engine
) -> None:
    KeyService(engine).create("carol")
    result = run("quota", "set", "carol", "--bytes", "10GiB", "--files", "10000")
    assert result.returncode == 0, result.stderr
    shown = run("quota", "show", "carol", QUOTA_FILES="5")
    assert "limit 10737418240 bytes (10.0 GiB) (this owner)" in shown.stdout
    assert "limit 10000 (this owner)" in shown.stdout
    back = run("quota", "set", "carol", "--files", "default", QUOTA_FILES="5")
    assert "limit 5 (default)" in back.stdout, back.stderr


def test_quota_of_an_unknown_owner_is_one_error_line(
    run: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    result = run("quota", "show", "nobody")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: No owner is named 'nobody'."


def test_keys_create_takes_a_scope_a_label_and_an_expiry_and_list_shows_them(
    run: Callable[..., subprocess.CompletedProcess[str]], engine: sa.Engine
) -> None:
    created = run(
        "keys", "create", "--owner", "frank", "--scope", "read", "--label", "nightly backup",
        "--expires", "90d",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    KeyService(engine).authenticate(key)  # used once: its last use shows

    listed = run("keys", "list").stdout.splitlines()
    assert listed[0].split() == [
        "KEY", "ID", "OWNER", "SCOPE", "CREATED", "(UTC)", "LAST", "USED", "EXPIRES", "STATUS",
        "LABEL",
    ]  # fmt: skip
    (line,) = [entry for entry in listed if "frank" in entry]
    assert " read " in line and line.endswith("nightly backup") and "active" in line
    assert line.count(":") == 3  # created, last used and expiry all have a time


@pytest.mark.parametrize("expires", ["0d", "soon", "90"])
def test_keys_create_refuses_an_expiry_that_is_not_a_duration(
    run: Callable[..., subprocess.CompletedProcess[str]], expires: str
) -> None:
    result = run("keys", "create", "--owner", "gina", "--expires", expires)
    assert result.returncode == 2 and "not a duration" in result.stderr

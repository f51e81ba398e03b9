"""`scripts/dev`: SeaweedFS, the database and the API on this machine, all stopped by Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from botocore.exceptions import BotoCoreError, ClientError

from backend.db import migrate
from backend.db.engine import create_engine, ping
from backend.domain.keys import KeyService
from backend.errors import DomainError, NotAuthenticated
from backend.local.credentials import S3Credentials, write_private
from backend.local.seaweedfs import SeaweedFS, SeaweedFSError, ensure_bucket
from backend.settings import ConfigError, Settings, load_settings

BUCKET = "stowage-dev"
DEV_OWNER = "dev"
UPLOAD_EXAMPLE = ".venv/bin/python scripts/upload.py upload README.md"


@dataclass(frozen=True)
class DevConfig:
    """Where the local stack lives and listens; every value can come from the environment."""

    data_dir: Path
    port: int
    s3_port: int
    database_url: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DevConfig:
        """PORT, S3_PORT, DATA_DIR and DATABASE_URL, with local defaults."""
        return cls(
            data_dir=Path(env.get("DATA_DIR") or "data").resolve(),
            port=_port(env, "PORT", 8000),
            s3_port=_port(env, "S3_PORT", 8333),
            database_url=env.get("DATABASE_URL") or None,
        )


class DevError(Exception):
    """Something the person running the stack must fix; the message says what."""


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name) or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise DevError(f"{name} must be a port number, got {raw!r}")
    return int(raw)


def _require_free(port: int, name: str) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise DevError(f"port {port} is already in use; set {name} to a free one") from None


def _app_environment(config: DevConfig, s3: SeaweedFS) -> dict[str, str]:
    """The variables the API reads, pointing at the local stack."""
    database_url = config.database_url or f"sqlite:///{config.data_dir / 'stowage.db'}"
    return {
        "DATABASE_URL": database_url,
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": s3.endpoint_url,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": s3.credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.credentials.secret_key,
        "HOST": "127.0.0.1",
        "PORT": str(config.port),
    }


def _prepare_database_and_key(config: DevConfig, settings: Settings) -> str:
    """Apply migrations; issue the development key unless the saved one still works here.

    The key is kept in the data folder; a new database (another DATABASE_URL, or a deleted
    SQLite file) does not know it, so then a new one is issued.
    """
    engine = create_engine(settings)
    key_file = config.data_dir / "dev-api-key"
    try:
        ping(engine)  # one clear line when DATABASE_URL does not answer
        migrate.upgrade(engine)
        keys = KeyService(engine)
        if key_file.exists():
            saved = key_file.read_text(encoding="utf-8").strip()
            with contextlib.suppress(NotAuthenticated):
                keys.authenticate(saved)
                return saved
        issued = keys.create(DEV_OWNER)
    finally:
        engine.dispose()
    write_private(key_file, issued.key + "\n")
    return issued.key


def _stop_on_hangup_and_terminate() -> None:
    """Make SIGTERM and SIGHUP stop the stack like Ctrl-C, so `finally` stops SeaweedFS.

    SeaweedFS runs in its own session, out of reach of the terminal's signals. While the API
    serves, uvicorn handles SIGTERM itself: it stops serving, then raises the signal again
    through the handler it found, this one. A hangup takes the same path as a SIGTERM:
    raised straight from a handler while uvicorn serves, the KeyboardInterrupt could land
    inside a request, where uvicorn catches every exception and goes on serving.
    """

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def hang_up(_signum: int, _frame: object) -> None:
        signal.raise_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, hang_up)


def _banner(config: DevConfig, key: str, settings: Settings) -> str:
    api = f"http://127.0.0.1:{config.port}"
    web_apps = ", ".join(settings.server.cors_allow_origins) or "none (set CORS_ALLOW_ORIGINS)"
    return "\n".join(
        [
            "",
            "  Stowage is running",
            f"    API       {api}",
            f"    web page  {api}/",
            f"    API docs  {api}/docs",
            f"    S3        http://127.0.0.1:{config.s3_port} (bucket {BUCKET})",
            f"    database  {settings.database.url}",
            f"    web apps  {web_apps}",
            f"    data      {config.data_dir}",
            f"    API key   {key}",
            "",
            "  Upload a file from another terminal:",
            f"    export FILES_API_URL={api} FILES_API_KEY={key}",
            f"    {UPLOAD_EXAMPLE}",
            "",
            "  Ctrl-C stops everything.",
            "",
        ]
    )


def run(config: DevConfig, *, reload: bool) -> None:
    """Start SeaweedFS, prepare the database, serve the API until interrupted, stop it all."""
    _require_free(config.port, "PORT")
    _require_free(config.s3_port, "S3_PORT")
    (config.data_dir / "s3").mkdir(parents=True, exist_ok=True)
    credentials = S3Credentials.load_or_generate(config.data_dir / "s3-credentials.json")
    s3 = SeaweedFS(config.data_dir / "s3", credentials=credentials, s3_port=config.s3_port)
    _stop_on_hangup_and_terminate()
    print(f"==> starting SeaweedFS on port {config.s3_port}", flush=True)
    s3.start()
    try:
        environment = _app_environment(config, s3)
        os.environ.update(environment)  # the API (and its reloader's children) read these
        settings = load_settings()
        admin = s3.client()
        # Browsers on the API's own origin (the page at /) and on CORS_ALLOW_ORIGINS may POST
        # forms and PUT to the bucket and fetch downloads; set anew at every start.
        origins = [
            f"http://127.0.0.1:{config.port}",
            f"http://localhost:{config.port}",
            *settings.server.cors_allow_origins,
        ]
        ensure_bucket(admin, BUCKET, versioning=True, cors_origins=origins)
        admin.close()
        key = _prepare_database_and_key(config, settings)
        print(_banner(config, key, settings), flush=True)
        uvicorn.run(
            "backend.app:create_app",
            factory=True,
            host="127.0.0.1",
            port=config.port,
            reload=reload,
            reload_dirs=[str(Path(__file__).resolve().parents[1])] if reload else None,
            log_level="info",
            # asyncio's loop runs the SIGHUP handler above; uvloop's loop leaves it pending,
            # so a closed terminal would not stop the stack. Speed does not matter here.
            loop="asyncio",
        )
    finally:
        print("==> stopping SeaweedFS", flush=True)
        s3.stop(grace=1.0)  # SeaweedFS never finishes a SIGTERM; its data survives the KILL


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of scripts/dev; problems become one line and exit code 1."""
    parser = argparse.ArgumentParser(prog="scripts/dev", description=__doc__)
    parser.add_argument("--reload", action="store_true", help="restart the API on code changes")
    args = parser.parse_args(argv)
    try:
        run(DevConfig.from_env(os.environ), reload=args.reload)
    except (DevError, SeaweedFSError, ConfigError, ValueError) as exc:
        print(f"scripts/dev: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(
            f"scripts/dev: the local S3 server refused to set up the bucket: {exc}", file=sys.stderr
        )
        return 1
    except DomainError as exc:
        print(f"scripts/dev: {exc.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

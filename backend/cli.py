"""The command line: `python -m backend serve | db upgrade | keys | quota | sweep | reconcile`.

Each command imports what it needs when it runs, so `--help` and usage errors answer at once
instead of loading the database layer first.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from backend.errors import DomainError
from backend.settings import ConfigError, Settings, load_settings
from backend.sizes import format_size, parse_size

if TYPE_CHECKING:
    from backend.domain.keys import KeyService
    from backend.domain.quotas import Quota, QuotaService
    from backend.resources import Resources


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors become one line on stderr and a non-zero exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    command: Callable[[Settings, argparse.Namespace], int] = args.run
    try:
        return command(load_settings(), args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m backend", description="Stowage: direct-to-S3 uploads."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--reload", action="store_true", help="restart when code changes")
    serve.set_defaults(run=_serve)

    db = commands.add_parser("db", help="database schema")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_commands.add_parser("upgrade", help="apply pending migrations").set_defaults(run=_db_upgrade)

    key = commands.add_parser("keys", help="API keys")
    key_commands = key.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    create = key_commands.add_parser("create", help="issue a key (printed once)")
    create.add_argument("--owner", required=True, help="owner name; created on first use")
    create.add_argument(
        "--scope", choices=["read", "read-write"], default="read-write",
        help="read: list, read and download only; read-write (the default): upload and delete too",
    )  # fmt: skip
    create.add_argument("--label", help="a note for people: where the key is used")
    create.add_argument(
        "--expires", type=_duration, metavar="DURATION",
        help="refuse the key after this long: 90d, 12h or 30m (default: never)",
    )  # fmt: skip
    create.set_defaults(run=_keys_create)
    key_commands.add_parser("list", help="list keys (never the secrets)").set_defaults(
        run=_keys_list
    )
    revoke = key_commands.add_parser("revoke", help="revoke a key")
    revoke.add_argument("key", metavar="KEY_OR_ID", help="the key, its key id or its row id")
    revoke.set_defaults(run=_keys_revoke)

    quota = commands.add_parser("quota", help="owners' quotas")
    quota_commands = quota.add_subparsers(dest="quota_command", required=True, metavar="ACTION")
    owner_help = "the owner's name (API key owners) or owner id (identity provider users)"
    quota_set = quota_commands.add_parser("set", help="override an owner's limits")
    quota_set.add_argument("owner", metavar="OWNER", help=owner_help)
    quota_set.add_argument(
        "--bytes", dest="max_bytes", type=_limit(parse_size), metavar="SIZE",
        help="bytes the owner may hold (10GiB, 500MB, 1048576); 'default' for QUOTA_BYTES",
    )  # fmt: skip
    quota_set.add_argument(
        "--files", dest="max_files", type=_limit(_count), metavar="COUNT",
        help="files the owner may hold; 'default' for QUOTA_FILES",
    )  # fmt: skip
    quota_set.set_defaults(run=_quota_set)
    quota_show = quota_commands.add_parser("show", help="an owner's usage and limits")
    quota_show.add_argument("owner", metavar="OWNER", help=owner_help)
    quota_show.set_defaults(run=_quota_show)

    commands.add_parser(
        "sweep",
        help="one cleanup pass: decide expired uploads, finish interrupted deletes, prune "
        "extra object versions, delete objects without a file",
    ).set_defaults(run=_sweep)
    reconcile = commands.add_parser(
        "reconcile", help="compare the bucket with the files table; exit 1 on differences"
    )
    reconcile.add_argument(
        "--fix", action="store_true", help="repair what can be repaired, mark what cannot"
    )
    reconcile.set_defaults(run=_reconcile)
    return parser


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415  (only this command needs the server)

    from backend import logs  # noqa: PLC0415

    logs.configure(settings.observability, settings.server.log_level)
    workers = None if args.reload else settings.server.web_concurrency
    if settings.observability.metrics_enabled and (workers or 1) > 1:
        # Each worker writes its counters to files here; the one that answers /metrics adds
        # them all up. A fresh directory per start: counters restart with the service.
        os.environ.setdefault(
            "PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="stowage-metrics-")
        )
    uvicorn.run(
        "backend.app:create_app",
        factory=True,
        host=settings.server.host,
        port=settings.server.port,
        workers=workers,
        reload=args.reload,
        log_level=settings.server.log_level,
        # Logging is configured above (and by the app in each worker): one format for every
        # line, and the app's own access line, which never shows a query string.
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
    return 0


@contextmanager
def _keys(settings: Settings) -> Iterator[KeyService]:
    """The key service on a short-lived engine, for one command."""
    from backend.db.engine import create_engine  # noqa: PLC0415
    from backend.domain.keys import KeyService  # noqa: PLC0415

    engine = create_engine(settings)
    try:
        yield KeyService(engine)
    finally:
        engine.dispose()


def _db_upgrade(settings: Settings, _args: argparse.Namespace) -> int:
    from backend.db import migrate  # noqa: PLC0415
    from backend.db.engine import create_engine, ping  # noqa: PLC0415

    engine = create_engine(settings)
    try:
        ping(engine)  # a clear error when the database is unreachable
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    print("database schema is up to date")
    return 0


_DURATION = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


def _duration(text: str) -> timedelta:
    """An argparse type: 90d, 12h, 30m."""
    match = _DURATION.match(text.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration such as 90d, 12h or 30m")
    return int(match.group(1)) * _UNITS[match.group(2)]


def _keys_create(settings: Settings, args: argparse.Namespace) -> int:
    from backend.domain.keys import Scope  # noqa: PLC0415

    with _keys(settings) as keys:
        issued = keys.create(
            args.owner, scope=Scope(args.scope), label=args.label, expires_in=args.expires
        )
    print(f"created key {issued.key_id} for owner {issued.owner!r}; it is shown only once:")
    print(issued.key)
    return 0


def _keys_list(settings: Settings, _args: argparse.Namespace) -> int:
    with _keys(settings) as keys:
        rows = keys.list_all()
    print(
        f"{'KEY ID':<18} {'OWNER':<20} {'SCOPE':<10} {'CREATED (UTC)':<17} "
        f"{'LAST USED':<17} {'EXPIRES':<17} {'STATUS':<24} LABEL"
    )
    now = datetime.now(UTC)
    for row in rows:
        if row.revoked_at:
            status = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}"
        elif row.expires_at is not None and row.expires_at <= now:
            status = "expired"
        else:
            status = "active"
        print(
            f"{row.key_id:<18} {row.owner:<20} {row.scope:<10} {_when(row.created_at)} "
            f"{_when(row.last_used_at)} {_when(row.expires_at)} {status:<24} {row.label or ''}"
        )
    return 0


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment is not None else f"{'-':<16}"


def _keys_revoke(settings: Settings, args: argparse.Namespace) -> int:
    with _keys(settings) as keys:
        info = keys.revoke(args.key)
    print(f"revoked key {info.key_id} of owner {info.owner!r}")
    return 0


# `quota set --bytes default`: drop the owner's own limit, back to QUOTA_BYTES / QUOTA_FILES.
DEFAULT = "default"


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _limit(parse: Callable[[str], int]) -> Callable[[str], int | str]:
    """An argparse type: a limit, or `default`."""

    def convert(text: str) -> int | str:
        if text.strip().lower() == DEFAULT:
            return DEFAULT
        try:
            return parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a limit or 'default'") from None

    return convert


@contextmanager
def _quotas(settings: Settings) -> Iterator[QuotaService]:
    """The quota service on a short-lived engine, for one command."""
    from backend.db.engine import create_engine  # noqa: PLC0415
    from backend.domain.quotas import QuotaService  # noqa: PLC0415

    engine = create_engine(settings)
    try:
        yield QuotaService(engine, settings.limits)
    finally:
        engine.dispose()


def _quota_set(settings: Settings, args: argparse.Namespace) -> int:
    if args.max_bytes is None and args.max_files is None:
        print("error: give --bytes, --files or both", file=sys.stderr)
        return 2
    with _quotas(settings) as quotas:
        owner_id = quotas.find_owner(args.owner)
        figures = quotas.set_limits(
            owner_id,
            bytes_limit=args.max_bytes if isinstance(args.max_bytes, int) else None,
            files_limit=args.max_files if isinstance(args.max_files, int) else None,
            reset_bytes=args.max_bytes == DEFAULT,
            reset_files=args.max_files == DEFAULT,
        )
    _print_quota(figures)
    return 0


def _quota_show(settings: Settings, args: argparse.Namespace) -> int:
    with _quotas(settings) as quotas:
        figures = quotas.show(quotas.find_owner(args.owner))
    _print_quota(figures)
    return 0


def _print_quota(figures: Quota) -> None:
    def limit(value: int | None, own: bool, show: Callable[[int], str]) -> str:
        text = "unlimited" if value is None else show(value)
        return f"{text} ({'this owner' if own else 'default'})"

    print(f"owner  {figures.owner_id}")
    print(
        f"bytes  used {format_size(figures.bytes_used)}, reserved "
        f"{format_size(figures.bytes_reserved)}, limit "
        f"{limit(figures.bytes_limit, figures.bytes_limit_overridden, format_size)}"
    )
    print(
        f"files  used {figures.files_used}, reserved {figures.files_reserved}, limit "
        f"{limit(figures.files_limit, figures.files_limit_overridden, str)}"
    )


@contextmanager
def _resources(settings: Settings) -> Iterator[Resources]:
    """The engine and the bucket, for one command whose progress is logged to stderr."""
    from backend.resources import Resources  # noqa: PLC0415

    # The app's own lines only (one per batch), at LOG_LEVEL: a timer's journal keeps them.
    log = logging.getLogger("backend")
    log.setLevel(settings.server.log_level.upper())
    log.addHandler(logging.StreamHandler(sys.stderr))
    made = Resources.create(settings)
    try:
        yield made
    finally:
        made.close()


def _sweep(settings: Settings, _args: argparse.Namespace) -> int:
    from backend.domain.sweeper import Sweeper  # noqa: PLC0415

    with _resources(settings) as made:
        report = Sweeper(made.engine, made.storage, settings).sweep()
    for line in report.lines():
        print(line)
    return 0


def _reconcile(settings: Settings, args: argparse.Namespace) -> int:
    from backend.domain.reconcile import Reconciler  # noqa: PLC0415

    with _resources(settings) as made:
        totals = Reconciler(made.engine, made.storage, settings).run(
            fix=args.fix, report=lambda finding: print(finding, flush=True)
        )
    print(totals.summary())
    return 0 if totals.clean else 1

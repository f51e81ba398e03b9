#!/usr/bin/env python3
"""Requests per second and latency of the API's hot paths, against a no-op Litestar app.

    .venv/bin/python scripts/bench/api.py            # a million rows, 3 rounds, 1 and 2 workers
    .venv/bin/python scripts/bench/api.py --quick    # a smoke run of a few seconds

It starts SeaweedFS, uses PostgreSQL from DATABASE_URL (or a throwaway database on the server at
127.0.0.1:5432, user postgres), seeds owners, keys and `--rows` files, runs the API pinned to
core 0 and wrk pinned to core 1, and alternates the contenders for several rounds. `--source`
benchmarks another checkout of the service (its own migrations, CLI and server) with the same
seed and load.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from backend.domain import cursor  # noqa: E402  (the repository root is put on the path above)
from backend.local.credentials import S3Credentials  # noqa: E402
from backend.local.seaweedfs import SeaweedFS, ensure_bucket, free_port  # noqa: E402

BUCKET = "stowage-bench"
PREFIX = "uploads/"
RARE_NAME = "needle-report.pdf"
SERVER_CORE, LOAD_CORE = "0", "1"
COMPANION = Path(__file__).resolve().parent / "companion"  # its package.json and lock
COMPANION_BIN = COMPANION / "node_modules" / "@uppy" / "companion" / "bin" / "companion"


@dataclass(frozen=True)
class Contender:
    """One endpoint under load: a wrk Lua script and the server that answers it."""

    name: str
    lua: str
    server: str = "api"  # or "noop", "versus", "companion"

    def url(self, ports: dict[str, int]) -> str:
        """Where its server listens."""
        return f"http://127.0.0.1:{ports[self.server]}"


@dataclass
class Sample:
    """One wrk run's figures."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    def __str__(self) -> str:
        errors = f"  {self.errors} errors" if self.errors else ""
        return f"{self.rps:9,.0f} rps  p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms{errors}"


@dataclass(frozen=True)
class Plan:
    """How long and how often each contender runs, and which one is profiled."""

    rounds: int
    seconds: float
    connections: tuple[int, int]
    profile: str | None

    def profiles(self, name: str, round_number: int, connections: int, workers: int) -> bool:
        """Whether this run is the one py-spy samples: the first, busiest, one-worker run."""
        return (
            self.profile == name
            and round_number == 1
            and connections == self.connections[0]
            and workers == 1
        )


@dataclass
class Results:
    """Every sample, by (workers, contender, connections)."""

    samples: dict[tuple[int, str, int], list[Sample]] = field(default_factory=dict)
    companion_missing: str | None = None  # why Companion was not measured

    def add(self, key: tuple[int, str, int], sample: Sample) -> None:
        """Record one run."""
        self.samples.setdefault(key, []).append(sample)

    def median(self, key: tuple[int, str, int], attribute: str) -> float:
        """The median of one figure over the rounds (NaN when not measured)."""
        values = [getattr(s, attribute) for s in self.samples.get(key, [])]
        return statistics.median(values) if values else float("nan")


def _lua(method: str, path: str, key: str | None, body: str | None = None) -> str:
    lines = [f'wrk.method = "{method}"', f'wrk.path = "{path}"']
    if key:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {key}"')
    if body is not None:
        lines.append('wrk.headers["Content-Type"] = "application/json"')
        lines.append(f"wrk.body = [[{body}]]")
    return "\n".join(lines) + "\n"


def _cycling_lua(paths: Sequence[str], key: str) -> str:
    """POST to each path in turn (pending files to confirm), starting over at the end."""
    listed = ",\n".join(f'"{p}"' for p in paths)
    return (
        f"local paths = {{\n{listed}\n}}\nlocal i = 0\n"
        f'wrk.headers["Authorization"] = "Bearer {key}"\n'
        "request = function()\n  i = i % #paths + 1\n"
        '  return wrk.format("POST", paths[i])\nend\n'
    )


@contextmanager
def _database(url: str | None) -> Iterator[str]:
    """DATABASE_URL as it is, or a throwaway database on 127.0.0.1:5432 dropped afterwards."""
    if url:
        yield url
        return
    name = f"stowage_bench_{os.getpid()}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _cli(source: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "backend", *args],
        cwd=source,
        env={**env, "PYTHONPATH": str(source)},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _issue_key(source: Path, env: dict[str, str], owner: str) -> str:
    return _cli(source, env, "keys", "create", "--owner", owner).strip().splitlines()[-1]


def _owner_of(database_url: str, key: str) -> str:
    key_id = key.split("_")[1]
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT owner_id::text FROM api_keys WHERE key_id = %s", (key_id,)
        ).fetchone()
    if row is None:
        raise RuntimeError(f"no key {key_id} in the database")
    return str(row[0])


_SEED = """
INSERT INTO files (id, owner_id, object_key, filename, search_name, content_type, size, status,
                   created_at, upload_expires_at, confirmed_at, etag)
SELECT gen_random_uuid(), %(owner)s::uuid, %(prefix)s || %(owner)s || '/seed-' || n,
       name, name, 'image/jpeg', 1000 + n, 'ready',
       now() - make_interval(secs => n), now(), now() - make_interval(secs => n), '"seed"'
FROM generate_series(1, %(rows)s) AS n, LATERAL (SELECT 'photo-' || n || '.jpg' AS name) AS f
"""


def _seed_rows(database_url: str, owner: str, rows: int) -> str:
    """`rows` ready files and one rare name, the oldest; returns a cursor 60 rows from the end."""
    with psycopg.connect(database_url) as connection:
        connection.execute(_SEED, {"owner": owner, "prefix": PREFIX, "rows": rows})
        connection.execute(
            "INSERT INTO files (id, owner_id, object_key, filename, search_name, content_type,"
            " size, status, created_at, upload_expires_at, confirmed_at)"
            " VALUES (gen_random_uuid(), %(owner)s::uuid, %(prefix)s || %(owner)s || '/rare',"
            " %(name)s, %(name)s, 'application/pdf', 1, 'ready',"
            " now() - interval '100 years', now(), now())",
            {"owner": owner, "prefix": PREFIX, "name": RARE_NAME},
        )
        deep = connection.execute(
            "SELECT created_at, id FROM files WHERE owner_id = %s::uuid AND status = 'ready'"
            " ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
            (owner, max(rows - 60, 0)),
        ).fetchone()
        connection.execute("ANALYZE files")
    if deep is None:
        raise RuntimeError("the seeded files are missing")
    return cursor.encode(deep[0], deep[1])


def _seed_objects(
    database_url: str, s3: SeaweedFS, owner: str, count: int
) -> tuple[list[str], str]:
    """`count` pending files whose objects are in the bucket, and one ready file."""
    ids = [str(uuid.uuid4()) for _ in range(count + 1)]
    client = s3.client()

    def put(file_id: str) -> None:
        client.put_object(
            Bucket=BUCKET, Key=f"{PREFIX}{owner}/{file_id}", Body=b"x", ContentType="text/plain"
        )

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, ids))
    with psycopg.connect(database_url) as connection, connection.cursor() as cur:
        cur.executemany(
            "INSERT INTO files (id, owner_id, object_key, filename, search_name, content_type,"
            " size, status, created_at, upload_expires_at)"
            " VALUES (%s::uuid, %s::uuid, %s, 'b.txt', 'b.txt', 'text/plain', 1, %s, now(),"
            " now() + interval '1 day')",
            [
                (i, owner, f"{PREFIX}{owner}/{i}", "ready" if n == 0 else "pending")
                for n, i in enumerate(ids)
            ],
        )
    return ids[1:], ids[0]


def _reset_pending(database_url: str, ids: Sequence[str]) -> None:
    """Put the confirm contender's files back to pending, so every run confirms fresh ones."""
    with psycopg.connect(database_url) as connection:
        connection.execute(
            "UPDATE files SET status = 'pending', etag = NULL, version_id = NULL,"
            " confirmed_at = NULL WHERE id = ANY(%s::uuid[])",
            (list(ids),),
        )


@contextmanager
def _server(command: Sequence[str], cwd: Path, env: dict[str, str], port: int) -> Iterator[int]:
    """A server pinned to SERVER_CORE, up until the block ends."""
    log = tempfile.TemporaryFile()  # noqa: SIM115  (closed below, after the process)
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, *command],  # noqa: S607  (taskset from PATH)
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError("server did not start:\n" + log.read().decode()[-2000:])
            time.sleep(0.2)
        yield process.pid  # taskset execs the server: same process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@contextmanager
def _profiled(pid: int | None, seconds: float) -> Iterator[None]:
    """py-spy's top functions (own time) for the server during the block, when pid is given."""
    if pid is None:
        yield
        return
    out = Path(tempfile.mkdtemp(prefix="stowage-profile-")) / "profile.txt"
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid),
            "--duration", str(max(int(seconds) - 1, 1)), "--format", "raw", "--output", str(out),
            "--nonblocking", "--gil",  # only the thread holding the GIL: where the core goes
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield
    finally:
        spy.wait()
    print(f"    profile (collapsed stacks, for flamegraph tools): {out}")
    _print_profile(out)


def _print_profile(path: Path, top: int = 25) -> None:
    """The functions most often on top of the stack, and the modules that hold the time."""
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if not count.isdigit() or not frames:
            continue
        total += int(count)
        own[frames[-1]] = own.get(frames[-1], 0) + int(count)
    for frame, samples in sorted(own.items(), key=lambda item: -item[1])[:top]:
        print(f"    {samples / max(total, 1):6.1%}  {frame[:150]}")


@contextmanager
def _versus(source: Path | None, env: dict[str, str], port: int) -> Iterator[None]:
    """The other checkout's server, when one is compared."""
    if source is None:
        yield
        return
    source = source.resolve()
    command = [sys.executable, "-m", "backend", "serve"]
    with _server(command, source, {**env, "PYTHONPATH": str(source)}, port):
        yield


def _companion_installed() -> str | None:
    """Why Companion cannot be measured, or None once it is installed (`npm ci`, pinned)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        return "node and npm are not installed"
    if not COMPANION_BIN.is_file():
        print("installing @uppy/companion (npm ci, pinned by its lock file)", flush=True)
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],  # noqa: S607
            cwd=COMPANION,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode or not COMPANION_BIN.is_file():
            return (
                "npm could not install @uppy/companion: "
                + (done.stderr.strip().splitlines() or ["no error message"])[-1]
            )
    return None


@contextmanager
def _companion(s3: SeaweedFS, port: int, tmp: Path) -> Iterator[None]:
    """Uppy Companion signing S3 POST forms for the same bucket, on SERVER_CORE too."""
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "COMPANION_PORT": str(port),
        "COMPANION_DOMAIN": f"127.0.0.1:{port}",
        "COMPANION_PROTOCOL": "http",
        "COMPANION_DATADIR": str(tmp),
        "COMPANION_SECRET": uuid.uuid4().hex,
        "COMPANION_PREAUTH_SECRET": uuid.uuid4().hex,
        "COMPANION_UPLOAD_URLS": "http://127.0.0.1/",  # required; /s3/params never uses it
        "COMPANION_CLIENT_ORIGINS": "true",
        "COMPANION_AWS_KEY": s3.credentials.access_key,
        "COMPANION_AWS_SECRET": s3.credentials.secret_key,
        "COMPANION_AWS_BUCKET": BUCKET,
        "COMPANION_AWS_REGION": "us-east-1",
        "COMPANION_AWS_ENDPOINT": s3.endpoint_url,
        "COMPANION_AWS_FORCE_PATH_STYLE": "true",
    }
    with _server(["node", str(COMPANION_BIN)], COMPANION, env, port):
        yield


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _wrk(url: str, script: Path, connections: int, seconds: float) -> Sample:
    done = subprocess.run(
        [  # noqa: S607  (taskset and wrk from PATH)
            "taskset", "-c", LOAD_CORE, "wrk", "-t1", f"-c{connections}",
            f"-d{seconds:g}s", "--timeout", "10s", "--latency", "-s", str(script), url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    out = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", out, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: .*", out)

    def ms(text: str | None) -> float:
        match = re.fullmatch(r"([\d.]+)(us|ms|s)", text or "")
        return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")

    sample = Sample(
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=ms(percentiles.get("50")),
        p99_ms=ms(percentiles.get("99")),
        errors=int(errors.group(1)) if errors else 0,
    )
    if socket_errors:
        print(f"    ({socket_errors.group(0)})", flush=True)
    return sample


def _rounds(
    results: Results,
    workers: int,
    contenders: Sequence[Contender],
    ports: dict[str, int],
    scripts: dict[str, Path],
    plan: Plan,
    api_pid: int,
    database_url: str,
    pending_ids: Sequence[str],
) -> None:
    """Every contender, alternating, for every round and connection count, after one short
    run of each that is not counted: the first requests open connections, prepare statements
    and fill caches, which would otherwise weigh on whichever contender runs first."""
    for contender in contenders:
        if contender.name.startswith("confirm pending"):
            _reset_pending(database_url, pending_ids)
        _wrk(contender.url(ports), scripts[contender.name], plan.connections[0],
             min(plan.seconds, 1.0))  # fmt: skip
    for round_number in range(1, plan.rounds + 1):
        for contender in contenders:
            url = contender.url(ports)
            for count in plan.connections:
                if contender.name.startswith("confirm pending"):
                    _reset_pending(database_url, pending_ids)
                profile = plan.profiles(contender.name, round_number, count, workers)
                with _profiled(api_pid if profile else None, plan.seconds):
                    sample = _wrk(url, scripts[contender.name], count, plan.seconds)
                if contender.name == "confirm pending" and (
                    sample.rps * plan.seconds > len(pending_ids)
                ):
                    print("    (more confirms than pending files: raise the pool)")
                results.add((workers, contender.name, count), sample)
                print(f"  w{workers} round {round_number} {contender.name:<16}"
                      f" c{count:<3} {sample}", flush=True)  # fmt: skip


def _paced_lua(lua: str, connections: int, rate: float) -> str:
    """The same requests, each connection pausing between them so that together they send
    about `rate` a second (a little less: each pause comes on top of an answer's latency).

    The pauses are random (uniform, with that mean), so the connections do not stay in step
    and send their requests in bursts.
    """
    longest = 2 * connections * 1000 / rate
    return lua + f"delay = function() return math.random() * {longest:.3f} end\n"


def _half_peak(
    results: Results,
    workers: int,
    contenders: Sequence[Contender],
    ports: dict[str, int],
    plan: Plan,
    tmp: Path,
) -> None:
    """Run initiate (and its --versus twin) at half its peak rate (its median with many
    connections), alternating, and record the latency there: a service runs well below its
    peak, where the tail is what users feel."""
    many = plan.connections[0]
    paced = []
    for contender in contenders:
        peak = results.median((workers, contender.name, many), "rps")
        if contender.name.removesuffix(VERSUS) == "initiate" and peak > 0:
            script = tmp / (re.sub(r"\W+", "-", contender.name) + "-half-peak.lua")
            script.write_text(_paced_lua(contender.lua, many, peak / 2))
            name = HALF_PEAK + contender.name.removeprefix("initiate")
            paced.append((name, contender.url(ports), script))
    for round_number in range(1, plan.rounds + 1):
        for name, url, script in paced:
            sample = _wrk(url, script, many, plan.seconds)
            results.add((workers, name, many), sample)
            print(f"  w{workers} round {round_number} {name:<16} c{many:<3} {sample}",
                  flush=True)  # fmt: skip


def _row(results: Results, workers: int, name: str, connections: Sequence[int]) -> str:
    many, one = connections
    cells = [
        f"{results.median((workers, name, many), 'rps'):9,.0f}",
        f"{results.median((workers, name, many), 'p99_ms'):8.1f}",
        f"{results.median((workers, name, one), 'rps'):9,.0f}",
        f"{results.median((workers, name, one), 'p50_ms'):7.2f}",
    ]
    errors = sum(s.errors for k, v in results.samples.items() if k[1] == name for s in v)
    return f"| {name:<24} | " + " | ".join(cells) + (f" | {errors} errors" if errors else " |")


def _report(results: Results, workers: int, connections: Sequence[int]) -> None:
    many, _ = connections
    print(f"\n{workers} worker(s), server on core {SERVER_CORE}, wrk on core {LOAD_CORE}:")
    print(
        f"| endpoint                 | rps c{many:<3} | p99 ms   | rps c1    | p50 ms  |\n"
        "| ------------------------ | --------- | -------- | --------- | ------- |"
    )
    names = dict.fromkeys(
        k[1] for k in results.samples if k[0] == workers and not k[1].startswith(HALF_PEAK)
    )
    for name in names:
        print(_row(results, workers, name, connections))

    def rate(name: str) -> float:
        return results.median((workers, name, many), "rps")

    def p50(name: str) -> float:
        return results.median((workers, name, 1), "p50_ms")

    initiate = rate("initiate")
    print(f"  initiate / no-op Litestar        {initiate / rate('noop litestar'):6.1%}  (goal 40%)")
    for name, goal in (
        ("confirm pending", "50%"),
        ("confirm ready", "100%"),
        ("download url", "100%"),
        ("list page 1", "100%"),
    ):
        print(f"  {name + ' / initiate':<32} {rate(name) / initiate:6.1%}  (goal {goal})")
    if (workers, HALF_PEAK, many) in results.samples:
        p99 = results.median((workers, HALF_PEAK, many), "p99_ms")
        print(f"  initiate p99 at half its peak    {p99:6.1f} ms at {rate(HALF_PEAK):,.0f} rps"
              " (goal 15 ms)")  # fmt: skip
    print(f"  deep page / page 1 (p50, c1)     {p50('list deep page') / p50('list page 1'):6.2f}x"
          "  (goal 1.2x at most)")  # fmt: skip
    print(f"  rare q search (p50, c1)          {p50('rare q search'):6.1f} ms (goal 50 ms)")
    if (workers, COMPANION_NAME, many) in results.samples:
        print(f"  initiate / Companion /s3/params  {initiate / rate(COMPANION_NAME):6.1%}"
              "  (goal 300%)")  # fmt: skip
    else:
        print(f"  Companion /s3/params: not measured ({results.companion_missing})")
    for name in names:
        if name.endswith(VERSUS):
            mine = name.removesuffix(VERSUS)
            print(f"  {mine:<16} this / --versus: rate c{many} {rate(mine) / rate(name):5.2f}x,"
                  f" p50 c1 {p50(mine) / p50(name):5.2f}x")  # fmt: skip
    half, half_versus = (workers, HALF_PEAK, many), (workers, HALF_PEAK + VERSUS, many)
    if half in results.samples and half_versus in results.samples:
        p99 = results.median(half, "p99_ms") / results.median(half_versus, "p99_ms")
        print(f"  initiate p99 at half peak this / --versus: {p99:5.2f}x")


VERSUS = " (vs)"
HALF_PEAK = "initiate, half peak"
COMPANION_NAME = "companion s3/params"


def _contenders(
    key: str, deep_key: str, ready_id: str, pending_ids: Sequence[str], deep_cursor: str
) -> list[Contender]:
    """Every endpoint under test, in the order each round runs them."""
    upload = '{"filename": "a.txt", "content_type": "text/plain", "size": 10}'
    return [
        Contender("initiate", _lua("POST", "/files/upload", key, upload)),
        Contender(
            "confirm pending", _cycling_lua([f"/files/{i}/confirm" for i in pending_ids], key)
        ),
        Contender("confirm ready", _lua("POST", f"/files/{ready_id}/confirm", key)),
        Contender("download url", _lua("GET", f"/files/{ready_id}/download", key)),
        Contender("list page 1", _lua("GET", "/files?limit=50", deep_key)),
        Contender("list deep page", _lua("GET", f"/files?limit=50&cursor={deep_cursor}", deep_key)),
        Contender("rare q search", _lua("GET", "/files?limit=50&q=needle", deep_key)),
        Contender("health live", _lua("GET", "/health/live", None)),
        Contender("noop litestar", _lua("GET", "/", None), server="noop"),
    ]


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument("--rows", type=int, help="files seeded for the listing (1,000,000)")
    parser.add_argument("--rounds", type=int, help="rounds of every contender (3)")
    parser.add_argument("--seconds", type=float, help="length of one wrk run (3)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--workers", default=None, help="worker processes to try (1,2)")
    parser.add_argument("--source", type=Path, default=ROOT, help="checkout of the service")
    parser.add_argument(
        "--versus",
        type=Path,
        metavar="DIR",
        help="also serve another checkout on the same database and alternate it with this one",
    )
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help="run only these contenders, comma-separated (e.g. 'initiate,download url')",
    )
    parser.add_argument(
        "--profile",
        metavar="CONTENDER",
        help="sample the server with py-spy during this contender's first run (one worker)",
    )
    args = parser.parse_args(argv)
    if args.only:
        args.only = frozenset(name.strip() for name in args.only.split(","))
        # The names only: the contenders' scripts need the seeded keys and files.
        known = {c.name for c in _contenders("", "", "", [""], "")} | {COMPANION_NAME}
        if unknown := sorted(args.only - known):
            parser.error(f"--only: no contender named {', '.join(unknown)}; the names are "
                         f"{', '.join(sorted(known))}")  # fmt: skip
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Seed, serve, load, and print the table."""
    args = _arguments(argv)
    rows = args.rows or (2_000 if args.quick else 1_000_000)
    rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (1 if args.quick else 3)
    workers_list = [int(w) for w in (args.workers or ("1" if args.quick else "1,2")).split(",")]
    pending = 300 if args.quick else 8_000
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        print("needs wrk and taskset (Debian: apt-get install wrk util-linux)", file=sys.stderr)
        return 2
    source = args.source.resolve()
    with (
        tempfile.TemporaryDirectory(prefix="stowage-bench-") as tmp,
        _database(os.environ.get("DATABASE_URL")) as database_url,
        SeaweedFS(Path(tmp), credentials=S3Credentials.generate()) as s3,
    ):
        admin = s3.client()
        ensure_bucket(admin, BUCKET, versioning=True)
        api_port, noop_port, versus_port = free_port(), free_port(), free_port()
        companion_port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "S3_BUCKET": BUCKET,
            "S3_ENDPOINT_URL": s3.endpoint_url,
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": s3.credentials.access_key,
            "AWS_SECRET_ACCESS_KEY": s3.credentials.secret_key,
            "HOST": "127.0.0.1",
            "PORT": str(api_port),
            "LOG_LEVEL": "info",
            "LOG_FORMAT": "json",
        }
        started = time.monotonic()
        _cli(source, env, "db", "upgrade")
        key, deep_key = _issue_key(source, env, "bench"), _issue_key(source, env, "bench-deep")
        owner, deep_owner = _owner_of(database_url, key), _owner_of(database_url, deep_key)
        deep_cursor = _seed_rows(database_url, deep_owner, rows)
        pending_ids, ready_id = _seed_objects(database_url, s3, owner, pending)
        print(f"seeded {rows:,} rows and {pending:,} objects in {time.monotonic() - started:.0f} s")
        contenders = _contenders(key, deep_key, ready_id, pending_ids, deep_cursor)
        if args.only:
            contenders = [c for c in contenders if c.name in args.only]
        if args.versus:
            contenders = [
                twin
                for contender in contenders
                for twin in (
                    [contender]
                    if contender.server == "noop"
                    else [contender, Contender(contender.name + VERSUS, contender.lua, "versus")]
                )
            ]
        results = Results()
        results.companion_missing = "not in a --quick run" if args.quick else _companion_installed()
        if args.only and COMPANION_NAME not in args.only:
            results.companion_missing = "not asked for (--only)"
        if results.companion_missing is None:
            contenders.append(
                Contender(
                    COMPANION_NAME,
                    _lua("GET", "/s3/params?filename=a.txt&type=text/plain", None),
                    server="companion",
                )
            )
        scripts = {}
        for contender in contenders:
            scripts[contender.name] = Path(tmp) / (re.sub(r"\W+", "-", contender.name) + ".lua")
            scripts[contender.name].write_text(contender.lua)
        connections = (args.connections, 1)
        plan = Plan(rounds, seconds, connections, args.profile)
        for workers in workers_list:
            api_env = {**env, "WEB_CONCURRENCY": str(workers)}
            noop_command = [
                sys.executable, "-m", "uvicorn", "--factory", "noop:create_app", "--host",
                "127.0.0.1", "--port", str(noop_port), "--workers", str(workers),
                "--no-access-log", "--log-level", "warning", "--proxy-headers",
            ]  # fmt: skip
            with (
                _server(
                    [sys.executable, "-m", "backend", "serve"],
                    source,
                    {**api_env, "PYTHONPATH": str(source)},
                    api_port,
                ) as api_pid,
                _server(noop_command, Path(__file__).parent, api_env, noop_port),
                _versus(args.versus, {**api_env, "PORT": str(versus_port)}, versus_port),
                contextlib.nullcontext()
                if results.companion_missing
                else _companion(s3, companion_port, Path(tmp)),
            ):
                ports = {
                    "api": api_port,
                    "noop": noop_port,
                    "versus": versus_port,
                    "companion": companion_port,
                }
                _rounds(results, workers, contenders, ports, scripts, plan, api_pid,
                        database_url, pending_ids)  # fmt: skip
                _half_peak(results, workers, contenders, ports, plan, Path(tmp))
        for workers in workers_list:
            _report(results, workers, connections)
    return 0


if __name__ == "__main__":
    sys.exit(main())

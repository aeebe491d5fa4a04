"""Load: the main pages and API endpoints under wrk, on gunicorn + PostgreSQL, against the admin.

    python -m bench load                           # the demo x100, 10 s per target (DATABASE_URL or
                                                   # postgres://postgres@127.0.0.1:5432/postgres)
    python -m bench load --scale 2 --duration 2 --targets "mall orders,API mall orders"   # CI size

On a throw-away PostgreSQL database (``bench_load_<pid>``, created and dropped): the Zhongyuan
demo (``govdesk demo``'s data), then its big tables copied ``--scale`` times over inside
PostgreSQL (ids, foreign keys between the copied tables and unique columns shifted per copy, so
every copy keeps the demo's streets, states and dates; only the audit events of copy k are
dated k days back) and the mall's and veterans' rollups rebuilt. gunicorn (``govdesk.wsgi``, sync workers, production settings: DEBUG off, keys made for
the run, collected static files) serves it on 127.0.0.1 with ``bench/_load_settings.py``, which
adds ``django.contrib.admin`` with a plain ModelAdmin per scaled table (``list_per_page`` = our page
size): its changelists are the peer.

Each target is run by wrk (``--duration`` s, ``--connections`` connections) with the session
cookie of the person who works there; its Lua script prints requests, p50/p95/p99 and the
responses that were not 2xx (a redirect to the login page is an error here). A sampler reads
gunicorn's workers' RSS (/proc/<pid>/status) and the database's connections (pg_stat_activity)
every ``--sample`` s. Exit code 1 on any non-2xx response or socket error, a worker replaced, a
worker's RSS growing more than ``--max-rss-growth-mb`` between the first and the last sample,
more connections than workers, or a target of which no request finished within ``--duration``.
Between targets it waits until the requests wrk left running are done, so they do not weigh on
the next target.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench._common import PROJECT, Server, make_postgres, production_env, setup_django

SETTINGS = "bench._load_settings"
DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"

# Copied --scale times over (a table after the tables its copied foreign keys point to).
SCALED = ("invest.Firm", "invest.Project", "mall.Order", "mall.OrderLine", "coal.Place", "coal.Inspection",
          "veterans.Record", "core.AuditEvent")

# The demo writes all its audit events at seeding time; copy k of them is dated k days earlier, so
# the x100 district has one demo's worth of activity a day over 100 days instead of 100 on one day.
DATED_BACK = {"core.AuditEvent": "at"}

# (name, path, the demo login who works there, the table whose admin changelist is the peer)
TARGETS = [
    ("district overview", "/", "admin", None),
    ("audit list", "/audit/", "admin", "core.AuditEvent"),
    ("API audit", "/api/v1/core/audit?limit=50", "admin", "core.AuditEvent"),
    ("invest dashboard", "/invest/", "shangwu", None),
    ("invest firms", "/invest/firms/", "shangwu", "invest.Firm"),
    ("API invest firms", "/api/v1/invest/firms", "shangwu", "invest.Firm"),
    ("invest projects", "/invest/projects/", "shangwu", "invest.Project"),
    ("API invest projects", "/api/v1/invest/projects", "shangwu", "invest.Project"),
    ("mall dashboard", "/mall/", "jiandu", None),
    ("mall orders", "/mall/orders/", "jiandu", "mall.Order"),
    ("API mall orders", "/api/v1/mall/orders", "jiandu", "mall.Order"),
    ("coal dashboard", "/coal/", "sanmei", None),
    ("coal places", "/coal/places/", "sanmei", "coal.Place"),
    ("API coal places", "/api/v1/coal/places", "sanmei", "coal.Place"),
    ("coal inspections", "/coal/inspections/", "sanmei", "coal.Inspection"),
    ("veterans dashboard", "/veterans/", "tuiyi", None),
    ("veterans records", "/veterans/records/", "tuiyi", "veterans.Record"),
    ("API veterans records", "/api/v1/veterans/records?limit=50", "tuiyi", "veterans.Record"),
    ("contest", "/contest/", "weijian", None),
]

LUA = r"""
-- Counts 2xx and other responses per thread; done() sums the threads and prints one JSON line.
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; other = 0 end
function response(status, headers, body)
  if status >= 200 and status < 300 then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local n_ok, n_other = 0, 0
  for _, t in ipairs(threads) do n_ok = n_ok + t:get("ok"); n_other = n_other + t:get("other") end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "ok": %d, "non_2xx": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, n_ok, n_other, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


# --- the data ------------------------------------------------------------------------------------

def _unique_sets(model) -> list[tuple]:
    sets = [(f,) for f in model._meta.concrete_fields if f.unique and not f.primary_key]
    for names in model._meta.unique_together:
        sets.append(tuple(model._meta.get_field(n) for n in names))
    for constraint in model._meta.constraints:
        if getattr(constraint, "fields", None):
            sets.append(tuple(model._meta.get_field(n) for n in constraint.fields))
    return sets


def scale_tables(factor: int) -> dict:
    """Copy each SCALED table ``factor - 1`` more times with INSERT ... SELECT: copy k's ids are the
    original's plus k times the table's largest id, and so are its foreign keys into copied tables;
    in each unique set that has no such key, one column is made unique per copy (an integer shifted,
    a UUID rehashed, a text suffixed or, when it does not fit, hashed — empty text stays empty, for
    unique-unless-empty columns). The columns named in DATED_BACK move k days back."""
    from django.apps import apps
    from django.db import connection, models, transaction

    quote = connection.ops.quote_name
    scaled = [apps.get_model(label) for label in SCALED]
    counts = {}
    with transaction.atomic(), connection.cursor() as cursor:
        shift = {}
        for model in scaled:
            cursor.execute(f"SELECT coalesce(max({quote(model._meta.pk.column)}), 0) + 1 "
                           f"FROM {quote(model._meta.db_table)}")
            shift[model] = cursor.fetchone()[0]
        for model in scaled:
            table = quote(model._meta.db_table)
            changed = {}
            for fields in _unique_sets(model):
                if any(f.is_relation and f.related_model in shift for f in fields):
                    continue
                field = next((f for f in fields if isinstance(f, models.IntegerField) and not f.is_relation), None) \
                    or next((f for f in fields if isinstance(f, models.UUIDField)), None) \
                    or next((f for f in reversed(fields) if isinstance(f, (models.CharField, models.TextField))),
                            None)
                if field is None:
                    raise RuntimeError(f"cannot make {model._meta.label} {[f.name for f in fields]} unique per copy")
                column = quote(field.column)
                if isinstance(field, models.IntegerField):
                    cursor.execute(f"SELECT coalesce(max({column}), 0) + 1 FROM {table}")
                    changed[field.column] = f"{column} + k * {cursor.fetchone()[0]}"
                elif isinstance(field, models.UUIDField):
                    changed[field.column] = f"md5({column}::text || k::text)::uuid"
                else:
                    room = field.max_length or 1000  # suffixed when it fits, else a hash of the same length
                    changed[field.column] = (f"CASE WHEN {column} = '' THEN {column} "
                                             f"WHEN length({column}) + 6 <= {room} THEN {column} || '#' || k::text "
                                             f"ELSE left(md5({column} || k::text), {room}) END")
            names, values = [], []
            for f in model._meta.concrete_fields:
                column = quote(f.column)
                names.append(column)
                if f.primary_key:
                    values.append(f"{column} + k * {shift[model]}")
                elif f.is_relation and f.related_model in shift:
                    values.append(f"{column} + k * {shift[f.related_model]}")
                elif DATED_BACK.get(model._meta.label) == f.name:
                    values.append(f"{column} - k * interval '1 day'")
                else:
                    values.append(changed.get(f.column, column))
            pk = quote(model._meta.pk.column)
            cursor.execute(f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(values)} FROM {table} "
                           f"CROSS JOIN generate_series(1, %s) AS k WHERE {pk} < %s", [factor - 1, shift[model]])
            cursor.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), (SELECT max({pk}) FROM {table}))",
                           [model._meta.db_table, model._meta.pk.column])
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[model._meta.label] = cursor.fetchone()[0]
    return counts


def build(factor: int) -> dict:
    """The demo, scaled, its rollups rebuilt, the statistics fresh; the session cookie per login."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from govdesk.core import demo
    from govdesk.core.models import User
    from govdesk.mall import rollups
    from govdesk.veterans import progress

    out = {}
    t = time.perf_counter()
    demo.seed_all()
    out["seed_s"] = time.perf_counter() - t
    t = time.perf_counter()
    out["rows"] = scale_tables(factor) if factor > 1 else {}
    rollups.rebuild()
    progress.rollup_rebuild(actor=None)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    out["scale_s"] = time.perf_counter() - t
    t = time.perf_counter()
    call_command("collectstatic", interactive=False, verbosity=0)
    out["collectstatic_s"] = time.perf_counter() - t
    cookies = {}
    for username in {login for _name, _path, login, _peer in TARGETS} | {"root"}:
        client = Client()
        client.force_login(User.objects.get(username=username))
        cookies[username] = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    out["cookies"] = cookies
    return out


# --- the measurement -----------------------------------------------------------------------------

def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Sampler(threading.Thread):
    """Every ``every`` s: each gunicorn worker's RSS and the database's connections."""

    def __init__(self, server: Server, admin_url: str, database: str, every: float):
        super().__init__(daemon=True)
        self.server, self.admin_url, self.database, self.every = server, admin_url, database, every
        self.samples: list[dict] = []
        self.halt = threading.Event()

    def sample(self, conn) -> dict:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'", [self.database]).fetchone()
        return {"t": time.monotonic(), "connections": row[0],
                "rss_kb": {pid: rss_kb(pid) for pid in self.server.worker_pids()}}

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            while not self.halt.is_set():
                self.samples.append(self.sample(conn))
                self.halt.wait(self.every)
            self.samples.append(self.sample(conn))

    def stop(self) -> None:
        self.halt.set()
        self.join()


def fetch(url: str, cookie: str) -> tuple[int, int, str]:
    """One request, to check a target before loading it: (status, bytes, where it redirects)."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=120) as response:
            return response.status, len(response.read()), ""
    except urllib.error.HTTPError as e:
        return e.code, 0, e.headers.get("Location", "")


def wrk(url: str, cookie: str, seconds: float, connections: int, script: Path) -> dict:
    command = ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
               "--timeout", "120s", "-s", str(script), "-H", f"Cookie: {cookie}", url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 300)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-1000:]} {done.stderr[-1000:]}")
    out = json.loads(line.removeprefix("WRK_JSON "))
    out["rps"] = out["requests"] / (out["duration_us"] / 1e6)
    out["socket_errors"] = out["connect"] + out["read"] + out["write"] + out["timeout"]
    return out


def drain(server: Server, admin_url: str, database: str, timeout: float = 600) -> float:
    """Wait until the requests wrk left behind are done (the workers finish a request whose client
    has gone): no worker CPU for 0.5 s and no active query. Returns the seconds waited."""
    import psycopg

    start = time.monotonic()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        while time.monotonic() - start < timeout:
            before = server.cpu_seconds() or 0.0
            time.sleep(0.5)
            active = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                                  "AND backend_type = 'client backend'", [database]).fetchone()[0]
            if (server.cpu_seconds() or 0.0) - before < 0.05 and not active:
                break
    return time.monotonic() - start


def measure(server: Server, cookies: dict, targets: list, peers: dict, args, script: Path, idle, log) -> tuple:
    """The runs in order — each target, and each peer after the first target that names it — each
    checked once (200, not a redirect), warmed up and timed alone; returns them and these results."""
    root = cookies["root"]
    runs = []  # (name, path, cookie, kind)
    seen = set()
    for name, path, login, peer in targets:
        runs.append((name, path, cookies[login], "ours"))
        if peer and peer not in seen:
            seen.add(peer)
            runs.append((f"admin {peer}", peers[peer], root, "peer"))
    results = {}
    for name, path, cookie, kind in runs:
        status, size, location = fetch(server.url + path, cookie)
        results[name] = {"path": path, "kind": kind, "status": status, "bytes_per_response": size}
        if status != 200:
            raise RuntimeError(f"{name} {path}: HTTP {status} {location}")
    log(f"every target answers 200; warming up ({args.warmup:g} s each) and timing one request alone")
    for name, path, cookie, _kind in runs:
        if args.warmup > 0:
            wrk(server.url + path, cookie, args.warmup, args.connections, script)
            idle()
        start = time.perf_counter()
        fetch(server.url + path, cookie)
        results[name]["alone_ms"] = (time.perf_counter() - start) * 1000
    return runs, results


def run(args, admin_url: str) -> dict:
    data_dir = tempfile.mkdtemp(prefix="govdesk-bench-load-")
    os.makedirs(os.path.join(data_dir, "static"))
    drop = server = sampler = None
    t0 = time.perf_counter()

    def log(message: str) -> None:
        print(f"[load {time.perf_counter() - t0:6.0f}s] {message}", flush=True)

    try:
        url, drop = make_postgres(admin_url, "bench_load")
        database = url.rsplit("/", 1)[1]
        production_env()
        os.environ["GOVDESK_DB_CONN_MAX_AGE"] = str(args.conn_max_age)
        setup_django(data_dir, url, SETTINGS)
        log(f"migrated {database}")
        built = build(args.scale)
        log(f"demo seeded in {built['seed_s']:.0f} s, scaled x{args.scale} in {built['scale_s']:.0f} s: "
            f"{built['rows']}; static collected in {built['collectstatic_s']:.0f} s")
        from django.apps import apps
        from django.db import connections

        targets = [t for t in TARGETS if not args.targets or t[0] in args.targets]
        unknown = set(args.targets) - {t[0] for t in TARGETS}
        if unknown:
            raise SystemExit(f"unknown targets: {sorted(unknown)}")
        peers = {}
        for _name, _path, _login, peer in targets:
            if peer:
                meta = apps.get_model(peer)._meta
                peers[peer] = f"/admin/{meta.app_label}/{meta.model_name}/"
        connections.close_all()  # the server's workers have their own

        script = Path(data_dir) / "count.lua"
        script.write_text(LUA)
        server = Server("gunicorn", args.workers)
        server.wait_ready("/health/")
        log(f"gunicorn ({args.workers} workers) at {server.url}")
        def idle() -> float:
            return drain(server, admin_url, database)

        runs, results = measure(server, built["cookies"], targets, peers, args, script, idle, log)

        sampler = Sampler(server, admin_url, database, args.sample)
        sampler.start()
        pids = set(server.worker_pids())
        cpu = server.cpu_seconds()
        for name, path, cookie, _kind in runs:
            figures = wrk(server.url + path, cookie, args.duration, args.connections, script)
            figures["drain_s"] = idle()  # requests still running when wrk stopped: not counted, not mixed in
            now = server.cpu_seconds()
            figures["server_cpu_ms_per_request"] = 1000 * (now - cpu) / max(1, figures["requests"])
            cpu = now
            results[name].update(figures)
            log(f"{name:26} {figures['rps']:7.1f} rps  p50 {figures['p50_us'] / 1000:7.1f}  "
                f"p95 {figures['p95_us'] / 1000:7.1f}  p99 {figures['p99_us'] / 1000:7.1f} ms  "
                f"alone {results[name]['alone_ms']:7.1f} ms  non-2xx {figures['non_2xx']}  "
                f"socket errors {figures['socket_errors']}  drained in {figures['drain_s']:.1f} s")
        sampler.stop()
        samples = sampler.samples
        sampler = None
        replaced = pids != set(server.worker_pids())
        server.stop()
        server = None
        return {
            "database": database, "scale": args.scale, "duration": args.duration, "connections": args.connections,
            "workers": args.workers, "conn_max_age": args.conn_max_age, "rows": built["rows"],
            "setup_s": {k: built[k] for k in ("seed_s", "scale_s", "collectstatic_s")},
            "results": results, "peers": peers, "targets": [t[0] for t in targets],
            "samples": samples, "workers_replaced": replaced, "load_average": os.getloadavg(),
            "seconds": time.perf_counter() - t0,
        }
    finally:
        if sampler is not None:
            sampler.stop()
        if server is not None:
            server.stop()
        if drop is not None:
            drop()
        shutil.rmtree(data_dir, ignore_errors=True)


# --- the verdict ---------------------------------------------------------------------------------

def growth(out: dict, args) -> dict:
    """RSS per worker and connections at the first, middle and last sample, and the bounds."""
    samples = out["samples"]
    first, middle, last = samples[0], samples[len(samples) // 2], samples[-1]
    pids = sorted(set(first["rss_kb"]) & set(last["rss_kb"]))
    mb = {pid: [(s["rss_kb"].get(pid) or 0) / 1024 for s in (first, middle, last)] for pid in pids}
    worst = max((v[2] - v[0] for v in mb.values()), default=0.0)
    connections = [s["connections"] for s in samples]
    problems = []
    if out["workers_replaced"] or not pids:
        problems.append("a gunicorn worker was replaced during the run (crash or timeout)")
    if worst > args.max_rss_growth_mb:
        problems.append(f"a worker's RSS grew {worst:.0f} MB (bound {args.max_rss_growth_mb} MB)")
    if max(connections) > args.workers:
        problems.append(f"{max(connections)} database connections (bound: {args.workers}, one per worker)")
    for name, r in out["results"].items():
        if r.get("non_2xx") or r.get("socket_errors"):
            problems.append(f"{name}: {r['non_2xx']} non-2xx responses, {r['socket_errors']} socket errors")
        if "requests" in r and not r["requests"]:
            problems.append(f"{name}: no request finished within {out['duration']:g} s "
                            f"(alone: {r['alone_ms']:.0f} ms)")
    return {"rss_mb": mb, "worst_rss_growth_mb": worst, "connections": connections[:1] + [middle["connections"]]
            + connections[-1:], "max_connections": max(connections), "samples": len(samples), "problems": problems}


def report(out: dict, verdict: dict) -> str:
    results, peers = out["results"], out["peers"]
    lines = [
        f"PostgreSQL, demo x{out['scale']} ({', '.join(f'{k} {v:,}' for k, v in out['rows'].items())}); gunicorn "
        f"{out['workers']} sync workers; wrk {out['connections']} connections, {out['duration']:g} s per target; "
        f"load average {out['load_average'][0]:.1f} on {os.cpu_count()} CPUs",
        f"  {'target':26} {'rps':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'alone ms':>8} {'CPU ms/req':>10} "
        f"{'KB/resp':>8} "
        f"{'non-2xx':>7} {'sock err':>8} {'admin rps':>9} {'rps ours/admin':>14} {'p50 admin/ours':>14}",
    ]

    def row(name, r, peer=None):
        tail = ""
        if peer is not None:
            tail = (f" {peer['rps']:9.1f} {r['rps'] / max(peer['rps'], 1e-9):13.2f}x"
                    f" {peer['p50_us'] / max(1, r['p50_us']):13.2f}x")
        return (f"  {name:26} {r['rps']:7.1f} {r['p50_us'] / 1000:8.1f} {r['p95_us'] / 1000:8.1f} "
                f"{r['p99_us'] / 1000:8.1f} {r['alone_ms']:8.1f} {r['server_cpu_ms_per_request']:10.1f} "
                f"{r['bytes_per_response'] / 1024:8.1f} "
                f"{r['non_2xx']:7d} {r['socket_errors']:8d}" + tail)

    for name in out["targets"]:
        r = results[name]
        peer = next((results[f"admin {p}"] for n, _path, _login, p in TARGETS if n == name and p), None)
        lines.append(row(name, r, peer))
    for label in peers:
        lines.append(row(f"admin {label}", results[f"admin {label}"]))
    for pid, (a, b, c) in verdict["rss_mb"].items():
        lines.append(f"  worker {pid} RSS: {a:.0f} -> {b:.0f} -> {c:.0f} MB (start, middle, end)")
    lines.append(f"  database connections (start, middle, end): {verdict['connections']}; max "
                 f"{verdict['max_connections']} over {verdict['samples']} samples")
    lines.append(f"  setup: seed {out['setup_s']['seed_s']:.0f} s, scale {out['setup_s']['scale_s']:.0f} s, "
                 f"collectstatic {out['setup_s']['collectstatic_s']:.0f} s; whole run {out['seconds']:.0f} s")
    lines.append("  " + ("; ".join(verdict["problems"]) if verdict["problems"] else
                         "no errors, no unbounded growth: OK"))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench load", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=100, help="copies of the demo's big tables (1: the demo)")
    parser.add_argument("--duration", type=float, default=10, help="seconds of wrk per target")
    parser.add_argument("--warmup", type=float, default=1, help="seconds of wrk per target before the run")
    parser.add_argument("--connections", type=int, default=8, help="wrk's open connections")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (docs/OPERATIONS.md: 4)")
    parser.add_argument("--conn-max-age", type=int, default=0, help="GOVDESK_DB_CONN_MAX_AGE of the server")
    parser.add_argument("--targets", default="", help="comma-separated target names (default: all)")
    parser.add_argument("--sample", type=float, default=1.0, help="seconds between RSS/connection samples")
    parser.add_argument("--max-rss-growth-mb", type=float, default=64,
                        help="fail when a worker's RSS grows more between the first and the last sample")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON (last line)")
    args = parser.parse_args(argv)
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    if args.scale < 1 or args.duration <= 0 or args.connections < 1 or args.workers < 1:
        parser.error("--scale, --duration, --connections and --workers must be positive")
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    admin_url = os.environ.get("DATABASE_URL", "")
    if not admin_url.startswith("postgres"):
        admin_url = DEFAULT_ADMIN_URL
    os.chdir(PROJECT)
    out = run(args, admin_url)
    verdict = growth(out, args)
    print(report(out, verdict), flush=True)
    if args.json:
        out["verdict"] = verdict
        print(json.dumps(out, ensure_ascii=False, default=str), flush=True)
    return 1 if verdict["problems"] else 0

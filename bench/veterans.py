"""Issue 4's progress benchmark: the veterans progress dashboard at 1,000,000 records, read from
the rollups against the live aggregate it replaces.

    python -m bench veterans                      # 1,000,000 records on a throw-away SQLite file
    python -m bench veterans --records 100000     # smaller
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench veterans
        # SQLite, then PostgreSQL: DATABASE_URL is the admin connection; the benchmark creates
        # bench_vet_<pid>, runs there and drops it

What it builds, fast and outside the services (the services' own costs are the import
benchmark's subject): a district of 14 streets × 8 communities, 40 collection points, 198
collectors each working at one point, and N records spread over 120 campaign days, the streets at
different paces, in the review states a running campaign has (20 % waiting, 3 % returned, 35 %
reviewed, 42 % archived; 1 in 3 collected away from a point). The records go in with the core's
raw bulk insert (COPY on PostgreSQL); then ``progress.rollup_rebuild`` builds the two rollup
tables, and ``progress.rollup_drift`` must find nothing.

What it measures (server time, median of several runs after a warm-up, as the veterans
department's officer, who sees the whole district):

- rollups: ``progress.dashboard`` — per street / point / collector figures from the rollup's
  ``total`` grain, per day from its ``daily`` grain — and the whole page (``GET /veterans/``: view,
  template, charts);
- live: ``queries.progress``, the same figures counted from the records (what the page did before);
- the upkeep: a review through ``services.record_review`` (lock, state change, audit, rollup upsert).

Target: the page under 50 ms with 1,000,000 records. Prints live / rollups.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as clock

from bench._common import add_database_option, choose_databases, make_postgres, setup_django
from bench.imports import STREETS

COMMUNITIES = 8
POINTS = 40
COLLECTORS = 198
DAYS = 120
STATES = [("collected", 20), ("returned", 3), ("reviewed", 35), ("archived", 42)]


def seed_world():
    """The district, its streets and communities, the veterans department and its officer,
    the points and the collectors (collectors made in bulk: they never log in here)."""
    from django.contrib.auth.hashers import make_password

    from govdesk.core import services
    from govdesk.core.models import Membership, User
    from govdesk.core.reach import Role
    from govdesk.veterans.models import CollectionPoint

    root = User.objects.create_superuser("bench", "", "bench-password-1")
    district = services.orgunit_create(actor=root, parent=None, kind="district", code="410102", name="中原区")
    department = services.orgunit_create(actor=root, parent=district, kind="department", code="410102-tyj",
                                         name="退役军人事务局")
    officer = services.user_create(actor=root, username="tuiyi", display_name="退役军人事务局干部",
                                   password="Bench@pass-2026", role=Role.DEPARTMENT_OFFICER, unit=department)
    streets, communities = [], {}
    for i, name in enumerate(STREETS, start=1):
        street = services.orgunit_create(actor=root, parent=district, kind="street", code=f"S{i:02d}", name=name)
        streets.append(street)
        communities[street.pk] = [services.orgunit_create(actor=root, parent=street, kind="community",
                                                          code=f"S{i:02d}C{c}", name=f"{name[:-2]}第{c}社区")
                                  for c in range(1, COMMUNITIES + 1)]
    points = CollectionPoint.objects.bulk_create([
        CollectionPoint(org_unit=communities[streets[i % len(streets)].pk][i // len(streets)],
                        name=f"采集点{i + 1:02d}", address="郑州市中原区", opens_at=clock(8, 30),
                        closes_at=clock(17, 0), daily_capacity=80, slot_minutes=30) for i in range(POINTS)])
    password = make_password(None)
    collectors = User.objects.bulk_create([User(username=f"caiji{i:03d}", display_name=f"采集员{i:03d}",
                                                password=password) for i in range(COLLECTORS)])
    point_of = {c.pk: points[i % POINTS] for i, c in enumerate(collectors)}
    Membership.objects.bulk_create([Membership(user=c, role=Role.COLLECTOR,
                                               org_unit_id=point_of[c.pk].org_unit.parent_id) for c in collectors])
    for street in streets:
        services_expected(officer, street)
    return officer, streets, communities, point_of


def services_expected(officer, street) -> None:
    from govdesk.veterans import services

    services.expected_set(actor=officer, street=street, expected=80_000)


def generate_records(n: int, communities: dict, point_of: dict, seed: int = 20240601) -> float:
    """Insert ``n`` records with the core's raw bulk insert; returns the seconds it took."""
    from django.db import connection, transaction
    from django.utils import timezone

    from govdesk.core.db import insert_rows
    from govdesk.veterans.models import Category, Record

    rng = random.Random(seed)
    categories = list(Category.objects.values_list("pk", flat=True))
    weights = [40, 8, 6, 6, 6, 4, 2, 3, 12, 2, 4, 1][:len(categories)]
    fields = [f for f in Record._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    now = timezone.now()
    template = Record(name="张建国", gender="男", ethnicity="汉族", birth_date=date(1970, 1, 1),
                      id_number_enc="-", phone_enc="-", household_address="郑州市中原区建设路 1 号",
                      residential_address="郑州市中原区建设路 1 号", content_hash="0" * 64, origin_hash="0" * 64,
                      created_at=now, updated_at=now)
    base = []
    for field in fields:
        value = getattr(template, field.attname)
        if field.attname in ("created_at", "updated_at", "collected_at", "reviewed_at", "archived_at"):
            value = connection.ops.adapt_datetimefield_value(value)
        elif field.get_internal_type() == "JSONField":
            value = "[]"
        elif field.get_internal_type() in ("DateField",):
            value = connection.ops.adapt_datefield_value(value)
        base.append(value)
    index = {name: columns.index(Record._meta.get_field(name).column) for name in (
        "uuid", "id_number_bidx", "org_unit", "street", "category", "collector", "point", "status",
        "collected_on", "collected_at")}
    uuid_field = Record._meta.get_field("uuid")
    collectors = list(point_of)
    by_street: dict[int, list[int]] = {}
    for pk, point in point_of.items():
        by_street.setdefault(point.org_unit.parent_id, []).append(pk)
    streets = list(communities)
    pace = [0.5 + i / len(streets) for i in range(len(streets))]  # some streets behind
    states, state_weights = zip(*STATES, strict=True)
    first_day = timezone.localdate() - timedelta(days=DAYS - 1)
    days = [first_day + timedelta(days=d) for d in range(DAYS)]
    adapt_date = connection.ops.adapt_datefield_value
    adapt_datetime = connection.ops.adapt_datetimefield_value
    day_values = [(adapt_date(d), adapt_datetime(timezone.make_aware(datetime.combine(d, clock(10))))) for d in days]
    cum_pace = list(itertools.accumulate(pace))
    cum_states = list(itertools.accumulate(state_weights))
    cum_categories = list(itertools.accumulate(weights))
    as_hex = connection.vendor != "postgresql"  # SQLite keeps UUIDs as 32 hex characters

    def rows():
        for i in range(n):
            street = rng.choices(streets, cum_weights=cum_pace)[0]
            collector = rng.choice(by_street.get(street) or collectors)
            row = list(base)
            collected_on, collected_at = rng.choice(day_values)
            value = uuid.UUID(int=rng.getrandbits(128))
            row[index["uuid"]] = value.hex if as_hex else uuid_field.get_db_prep_save(value, connection)
            row[index["id_number_bidx"]] = f"{i:064x}"
            row[index["org_unit"]] = rng.choice(communities[street]).pk
            row[index["street"]] = street
            row[index["category"]] = rng.choices(categories, cum_weights=cum_categories)[0]
            row[index["collector"]] = collector
            row[index["point"]] = point_of[collector].pk if rng.random() < 0.67 else None
            row[index["status"]] = rng.choices(states, cum_weights=cum_states)[0]
            row[index["collected_on"]] = collected_on
            row[index["collected_at"]] = collected_at
            yield row

    start = time.perf_counter()
    with transaction.atomic():
        insert_rows(Record._meta.db_table, columns, rows())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {Record._meta.db_table}")
    return time.perf_counter() - start


def timed(call, runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time of this process (ms). On a loaded machine the CPU
    time is the fairer figure for SQLite, which runs inside the process; PostgreSQL's work
    happens in the server, so there only the wall time counts."""
    call()  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def bench(records: int, database: str, admin_url: str | None, measure_when: str = "") -> dict:
    data_dir = tempfile.mkdtemp(prefix="govdesk-bench-vet-")
    drop = None
    try:
        url = None
        if database == "postgresql":
            url, drop = make_postgres(admin_url, "bench_vet")
        setup_django(data_dir, url)
        from django.db import connection, transaction
        from django.test import Client

        from govdesk.veterans import progress, queries, services
        from govdesk.veterans.models import Progress, Record

        officer, streets, communities, point_of = seed_world()
        out = {"database": connection.vendor, "records": records}
        out["generate_s"] = generate_records(records, {s.pk: communities[s.pk] for s in streets}, point_of)
        print(f"[{connection.vendor}] {records} records inserted in {out['generate_s']:.1f}s", flush=True)

        start = time.perf_counter()
        rebuilt = progress.rollup_rebuild(actor=None)
        out["rebuild_s"] = time.perf_counter() - start
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Progress._meta.db_table}")
        out["rollup_rows"] = rebuilt
        print(f"[{connection.vendor}] rollups rebuilt in {out['rebuild_s']:.1f}s: {rebuilt}", flush=True)

        if measure_when:  # built under load; time it when the machine is quiet
            print(f"[{connection.vendor}] data ready; timing starts when {measure_when} exists", flush=True)
            while not os.path.exists(measure_when):
                time.sleep(2)
        rolled = progress.dashboard(officer)
        live = queries.progress(officer)
        assert rolled["total"] == live["total"], (rolled["total"], live["total"])
        assert rolled["total"]["collected"] == records
        out["rollup_ms"], out["rollup_cpu_ms"] = timed(lambda: progress.dashboard(officer), 9)
        client = Client(SERVER_NAME="localhost")
        client.force_login(officer)

        def page():
            response = client.get("/veterans/")
            assert response.status_code == 200, response.status_code
        try:
            out["page_ms"], out["page_cpu_ms"] = timed(page, 9)
        except Exception as e:  # the page needs every module's URLs; report the rest anyway
            out["page_ms"] = out["page_cpu_ms"] = float("nan")
            out["page_error"] = f"{type(e).__name__}: {e}"[:200]
        out["live_ms"], out["live_cpu_ms"] = timed(lambda: queries.progress(officer), 3)
        print(f"[{connection.vendor}] rollups {out['rollup_ms']:.1f} ms, page {out['page_ms']:.1f} ms, "
              f"live {out['live_ms']:.1f} ms (wall)", flush=True)

        # the upkeep: reviews one by one through the service, each with its rollup upsert
        waiting = list(Record.objects.filter(status="collected").order_by("id")[:200])
        start = time.perf_counter()
        for record in waiting:
            services.record_review(actor=officer, record=record)
        out["review_ms"] = (time.perf_counter() - start) * 1000 / max(1, len(waiting))
        with transaction.atomic():
            out["drift"] = len(progress.rollup_drift())
        return out
    finally:
        if drop is not None:
            drop()
        shutil.rmtree(data_dir, ignore_errors=True)


def report(out: dict) -> str:
    ratio = out["live_ms"] / out["rollup_ms"] if out["rollup_ms"] else float("inf")
    rows = ", ".join(f"{grain} {n:,}" for grain, n in sorted(out["rollup_rows"].items()))
    return "\n".join([
        f"{out['database']}, {out['records']:,} records (rollup rows: {rows}; "
        f"insert {out['generate_s']:.0f} s, rebuild {out['rebuild_s']:.1f} s):",
        "                            wall ms   process CPU ms",
        f"  dashboard from rollups   {out['rollup_ms']:9.1f} {out['rollup_cpu_ms']:9.1f}"
        "   (progress.dashboard, median of 9)",
        f"  whole page GET /veterans/{out['page_ms']:9.1f} {out['page_cpu_ms']:9.1f}   (target < 50 ms)",
        f"  live aggregate           {out['live_ms']:9.1f} {out['live_cpu_ms']:9.1f}   (queries.progress, median of 3)",
        *([f"  (the page failed: {out['page_error']})"] if out.get("page_error") else []),
        f"  live / rollups = {ratio:,.0f}x (wall)   load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs",
        f"  a review with its rollup upkeep: {out['review_ms']:.1f} ms; drift after the reviews: {out['drift']}",
    ])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench veterans", description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    add_database_option(parser)
    parser.add_argument("--measure-when", default="", metavar="PATH",
                        help="build the data, then wait until PATH exists before timing (build under load, time quietly)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # internal: one database per process
    args = parser.parse_args(argv)
    databases, admin_url = choose_databases(parser, args.database)
    if args.one or len(databases) == 1:
        out = bench(args.records, databases[0], admin_url or None, args.measure_when)
        print(report(out), flush=True)
        return 0
    import subprocess

    for database in databases:  # Django configures one database per process
        code = subprocess.call([sys.executable, "-m", "bench", "veterans", "--records", str(args.records),
                                "--database", database, "--one", "--measure-when", args.measure_when])
        if code:
            return code
    return 0

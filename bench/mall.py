"""Issue 5's mall benchmark: a million orders, then the three figures the issue asks for.

    python -m bench mall                    # 1,000,000 orders on a throw-away SQLite file
    python -m bench mall --orders 200000    # smaller
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench mall
        # also on PostgreSQL: DATABASE_URL is the admin connection; the benchmark creates
        # bench_<pid>, runs there and drops it

The data: one district with 128 purchasing units (30 departments, 14 streets, 84 communities),
8 supplier enterprises, 150 categories (56 mall categories, 90 encouraged), one product per
category with a reference price and an offer from every supplier. N orders over the last two
years, one line each: units, categories and suppliers drawn with skewed weights, a preferred
supplier per unit and category (85%), amounts around 760 yuan, 30% negotiated, 5% cancelled;
planted split purchases, clusters just under the limit and over-priced orders for the sweep to
find. Written with one prepared INSERT per 5,000 rows (SQLite) or COPY (PostgreSQL), then the
rollups are rebuilt (``govdesk mall rollup --rebuild``), as after an import of old orders.

(a) supervision sweep: ``services.sweep()`` (every rule, flags raised and audited) against the
    peer — pandas reading the same rows (orders, categories, lines with reference prices) with
    ``read_sql`` and computing the same rules with groupby / rolling windows.
(b) dashboard: ``queries.figures`` (rollups) against ``queries.figures_live`` (the live
    aggregate it replaced), for the district supervisor; plus the whole dashboard page's server
    time (Django test client: middleware, queries, template).
(c) order list: the first and the last page of ``/mall/orders/`` (keyset pagination) for the
    supervisor, default sort (newest first).
"""

from __future__ import annotations

import argparse
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from bench._common import add_database_option, choose_databases, make_postgres, setup_django

SPAN_DAYS = 730
SUPPLIERS = ["京东", "苏宁易购", "得力", "齐心", "史泰博", "晨光", "国美", "欧菲斯"]
STREETS = 14
COMMUNITIES_PER_STREET = 6
DEPARTMENTS = 30
CATEGORIES = 150
MALL_CATEGORIES = 56


def timed(fn, repeat: int = 1):
    """(median seconds, last result) over ``repeat`` runs."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def timed_cpu(fn, repeat: int = 1):
    """(median wall seconds, median CPU seconds of this process, last result): on a loaded
    machine the CPU time is the fairer figure for our side (SQLite runs in this process;
    PostgreSQL's share of the work shows only in the wall time)."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), result


# --- the data ---------------------------------------------------------------------------------------

def seed_world(rng: random.Random):
    from govdesk.core import services as core
    from govdesk.core.models import User
    from govdesk.core.reach import Role
    from govdesk.mall.models import Admission, Category, MallPolicy, Offer, Product, ReferencePrice

    root = User.objects.create_superuser("bench", "", "bench-password-1")
    district = core.orgunit_create(actor=root, parent=None, kind="district", code="410102", name="中原区")
    make = core.orgunit_create
    units = [make(actor=root, parent=district, kind="department", code=f"D{i:02d}", name=f"第{i}局")
             for i in range(1, DEPARTMENTS + 1)]
    for s in range(1, STREETS + 1):
        street = make(actor=root, parent=district, kind="street", code=f"S{s:02d}", name=f"第{s}街道")
        units.append(street)
        units += [make(actor=root, parent=street, kind="community", code=f"S{s:02d}C{c}", name=f"第{s}街道第{c}社区")
                  for c in range(1, COMMUNITIES_PER_STREET + 1)]
    suppliers = [make(actor=root, parent=district, kind="enterprise", code=f"E{i:02d}", name=f"{name}政采专营")
                 for i, name in enumerate(SUPPLIERS, start=1)]
    supervisor = core.user_create(actor=root, username="bench_supervisor", display_name="纪检督查",
                                  password="bench-password-1", role=Role.SUPERVISOR, unit=district)
    # Thresholds for a district this busy: 7-day bursts of more than 40 orders in one category.
    MallPolicy.objects.create(org_unit=district, frequent_days=7, frequent_count=40)
    categories = Category.objects.bulk_create([
        Category(org_unit=district, code=f"A{i:03d}", name=f"品目{i:03d}", initials=f"pm{i:03d}",
                 is_mall=i < MALL_CATEGORIES, is_encouraged=i % 5 in (0, 1, 2),
                 single_limit=Decimal("50000") if i % 7 == 3 else Decimal("500000")) for i in range(CATEGORIES)])
    products = Product.objects.bulk_create([
        Product(org_unit=district, category=c, name=f"商品{c.code}", brand="品牌", model=c.code, initials="sp",
                reference_price=Decimal(rng.randrange(2000, 800000)) / 100,
                reference_date=date.today() - timedelta(days=SPAN_DAYS + 1), reference_source="京东")
        for c in categories])
    # the reference in force for every order (recorded before the first): each line points at it
    ReferencePrice.objects.bulk_create([ReferencePrice(product=p, price=p.reference_price, observed_on=p.reference_date,
                                                       source=p.reference_source) for p in products])
    Admission.objects.bulk_create([Admission(supplier=s, category=c, status="admitted") for s in suppliers
                                   for c in categories])
    offers = Offer.objects.bulk_create([
        Offer(product=p, supplier=s, stock=10**6,
              list_price=(p.reference_price * Decimal(rng.uniform(0.85, 1.08))).quantize(Decimal("0.01")))
        for p in products for s in suppliers])
    return root, supervisor, district, units, suppliers, categories, offers


def order_rows(n: int, rng: random.Random, units, suppliers, categories, offers, reference_of: dict):
    """Yield (order row, line row) tuples, ids 1..n; ``reference_of``: product -> its reference's
    id (read before: this runs inside the COPY, when the connection can run nothing else)."""
    from django.utils import timezone

    today = timezone.localdate()
    start = today - timedelta(days=SPAN_DAYS)
    offer_of = {(o.product.category_id, o.supplier_id): o for o in offers}
    mall = [c for c in categories if c.is_mall]
    outside = [c for c in categories if not c.is_mall]
    unit_w = [rng.lognormvariate(0, 0.8) for _ in units]
    cat_w = [1 / (i + 1) ** 1.1 for i in range(len(mall))]
    sup_w = [1 / (i + 1) ** 1.3 for i in range(len(suppliers))]
    preferred: dict[tuple, object] = {}
    tz = timezone.get_current_timezone()
    planted = max(1, n // 5000)  # split triples, clusters and over-priced orders

    def row(i, unit, category, supplier, day, total, list_total, status):
        offer = offer_of[(category.pk, supplier.pk)]
        at = datetime.combine(day, datetime.min.time(), tzinfo=tz) + timedelta(hours=8 + i % 9, minutes=i % 60)
        qty = max(1, round(float(list_total) / float(offer.list_price)))
        done = status not in ("placed", "cancelled")
        order = (i, unit.pk, supplier.pk, category.pk, status, list_total, total, list_total - total, at, day,
                 day.toordinal(), at + timedelta(hours=5) if done else None,
                 at + timedelta(days=12) if status == "settled" else None,
                 at + timedelta(days=1) if status == "cancelled" else None, "需求变更" if status == "cancelled" else "",
                 "", "", at)
        line = (i, i, offer.pk, offer.product_id, qty, (list_total / qty).quantize(Decimal("0.01")), list_total, total,
                reference_of[offer.product_id])
        return order, line

    i = 0
    while i < n - 10 * planted:
        i += 1
        unit = units[rng.choices(range(len(units)), unit_w)[0]]
        category = mall[rng.choices(range(len(mall)), cat_w)[0]] if rng.random() > 0.005 else rng.choice(outside)
        supplier = (preferred.setdefault((unit.pk, category.pk), rng.choices(suppliers, sup_w)[0])
                    if rng.random() < 0.85 else rng.choices(suppliers, sup_w)[0])
        offer = offer_of[(category.pk, supplier.pk)]
        target = min(rng.lognormvariate(math.log(760), 1.0), 40000)
        qty = max(1, round(target / float(offer.list_price)))
        list_total = offer.list_price * qty
        total = (list_total * Decimal(rng.uniform(0.88, 0.99))).quantize(Decimal("0.01")) \
            if rng.random() < 0.3 else list_total
        day = start + timedelta(days=rng.randrange(SPAN_DAYS))
        age = (today - day).days
        status = ("cancelled" if rng.random() < 0.05 else "settled") if age > 30 else \
            rng.choice(["placed", "confirmed", "shipped", "accepted", "settled", "cancelled"])
        yield row(i, unit, category, supplier, day, total, list_total, status)
    for _ in range(planted):  # a split purchase (3 x 190,000 in 10 days) and a cluster (4 x 480,000)
        unit, supplier = rng.choice(units), rng.choice(suppliers)
        category = rng.choice([c for c in mall if c.single_limit == Decimal("500000")])
        base = start + timedelta(days=rng.randrange(SPAN_DAYS - 40))
        for j, amount in enumerate(["190000"] * 3 + ["480000"] * 4):
            i += 1
            day = base + timedelta(days=4 * j)
            yield row(i, unit, category, supplier, day, Decimal(amount), Decimal(amount), "settled")
        for _ in range(3):  # over-priced: 30% above the reference
            i += 1
            category = rng.choice(mall)
            offer = offer_of[(category.pk, supplier.pk)]
            amount = (offer.product.reference_price * Decimal("1.3")).quantize(Decimal("0.01"))
            yield row(i, rng.choice(units), category, supplier, start + timedelta(days=rng.randrange(SPAN_DAYS)),
                      amount, amount, "settled")


ORDER_COLUMNS = ["id", "org_unit_id", "supplier_id", "category_id", "status", "list_total", "total", "savings",
                 "placed_at", "placed_on", "day", "confirmed_at", "settled_at", "cancelled_at", "cancel_reason",
                 "source", "external_no", "sent_at"]
LINE_COLUMNS = ["id", "order_id", "offer_id", "product_id", "quantity", "list_price", "list_amount", "amount",
                "reference_id"]
ORDER_DEFAULTS = {"acceptance_note": ""}


def insert_orders(rows) -> int:
    """The fastest write each database offers: COPY on PostgreSQL, executemany on SQLite."""
    from django.db import connection, transaction

    columns = ORDER_COLUMNS + list(ORDER_DEFAULTS)
    extra = tuple(ORDER_DEFAULTS.values())
    count = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor
            lines = []
            with raw.copy(f"COPY mall_order ({', '.join(columns)}) FROM STDIN") as copy:
                for order, line in rows:
                    copy.write_row(order + extra)
                    lines.append(line)
                    count += 1
            with raw.copy(f"COPY mall_orderline ({', '.join(LINE_COLUMNS)}) FROM STDIN") as copy:
                for line in lines:
                    copy.write_row(line)
            for table in ("mall_order", "mall_orderline"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
            cursor.execute("ANALYZE mall_order; ANALYZE mall_orderline")
            return count
        order_sql = f"INSERT INTO mall_order ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"
        line_sql = f"INSERT INTO mall_orderline ({', '.join(LINE_COLUMNS)}) VALUES ({', '.join(['%s'] * len(LINE_COLUMNS))})"
        batch_o, batch_l = [], []
        for order, line in rows:
            batch_o.append(order + extra)
            batch_l.append(line)
            if len(batch_o) == 5000:
                cursor.executemany(order_sql, batch_o)
                cursor.executemany(line_sql, batch_l)
                count += len(batch_o)
                batch_o, batch_l = [], []
        if batch_o:
            cursor.executemany(order_sql, batch_o)
            cursor.executemany(line_sql, batch_l)
            count += len(batch_o)
        cursor.execute("ANALYZE")
    return count


# --- (a) the peer: pandas --------------------------------------------------------------------------------

def pandas_sweep(policy) -> dict:
    """The same rules over the same rows with pandas: read_sql, then groupby / rolling."""
    import pandas as pd
    from django.db import connection

    conn = connection.connection  # the DB-API connection Django opened
    orders = pd.read_sql("SELECT o.id, o.org_unit_id, o.supplier_id, o.category_id, o.day, o.placed_on, o.total, "
                         "c.single_limit, c.is_mall FROM mall_order o JOIN mall_category c ON c.id = o.category_id "
                         "WHERE o.status <> 'cancelled'", conn)
    lines = pd.read_sql("SELECT l.order_id, l.quantity, l.amount, r.price AS reference_price FROM mall_orderline l "
                        "JOIN mall_referenceprice r ON r.id = l.reference_id JOIN mall_order o ON o.id = l.order_id "
                        "WHERE o.status <> 'cancelled'", conn)
    orders["total"] = orders["total"].astype(float)
    orders["single_limit"] = orders["single_limit"].astype(float)
    orders["date"] = pd.to_datetime(orders["day"] - date(1970, 1, 1).toordinal(), unit="D")
    orders = orders.sort_values(["org_unit_id", "category_id", "date", "id"]).reset_index(drop=True)
    w, f = f"{policy.split_window_days}D", f"{policy.frequent_days}D"
    groups = orders.groupby(["org_unit_id", "category_id"], sort=False)
    w_sum = groups.rolling(w, on="date")["total"].sum().to_numpy()
    w_n = groups.rolling(w, on="date")["total"].count().to_numpy()
    w_max = groups.rolling(w, on="date")["total"].max().to_numpy()
    limit, total = orders["single_limit"].to_numpy(), orders["total"].to_numpy()
    split = (w_n >= 2) & (w_max < limit) & (w_sum > limit) & (w_sum <= limit + total)
    near = (total < limit) & (total >= limit * (1 - float(policy.cluster_pct) / 100))
    orders["near"] = near.astype(int)
    near_n = orders.groupby(["org_unit_id", "category_id"], sort=False).rolling(w, on="date")["near"].sum().to_numpy()
    cluster = near & (near_n == policy.cluster_count)
    f_n = groups.rolling(f, on="date")["total"].count().to_numpy()
    frequent = f_n == policy.frequent_count + 1
    outside = ~orders["is_mall"].astype(bool).to_numpy()
    lines["over"] = lines["amount"].astype(float) > lines["quantity"] * lines["reference_price"].astype(float) * (
        1 + float(policy.price_flag_pct) / 100)
    price = lines.loc[lines["over"], "order_id"].nunique()
    orders["year"] = pd.to_datetime(orders["placed_on"]).dt.year
    unit_year = orders.groupby(["org_unit_id", "year"])["total"].sum()
    pair = orders.groupby(["org_unit_id", "year", "supplier_id"])["total"].sum()
    share = pair / unit_year.reindex(pair.index.droplevel("supplier_id")).to_numpy()
    big = unit_year.reindex(pair.index.droplevel("supplier_id")).to_numpy() >= float(policy.share_min_total)
    shares = int(((share * 100 > float(policy.share_pct)) & big).sum())
    return {"split": int(split.sum()), "cluster": int(cluster.sum()), "frequent": int(frequent.sum()),
            "outside": int(outside.sum()), "price": int(price), "share": shares}


# --- the run ------------------------------------------------------------------------------------------------

def bench(n: int, database: str, admin_url: str | None, keep: bool = False) -> dict:
    data_dir = tempfile.mkdtemp(prefix="govdesk-bench-")
    drop = None
    try:
        url = None
        if database == "postgresql":
            url, drop = make_postgres(admin_url)
        setup_django(data_dir, url)
        from django.conf import settings
        from django.core.cache import cache
        from django.db import connection
        from django.db.models import Count
        from django.test import Client

        from govdesk.mall import queries, rollups, services
        from govdesk.mall.models import CategoryRollup, Flag, MonthRollup, Order

        settings.ALLOWED_HOSTS = ["*"]
        rng = random.Random(20261125)
        root, supervisor, district, units, suppliers, categories, offers = seed_world(rng)
        out = {"database": connection.vendor, "orders": n}
        from govdesk.mall.models import ReferencePrice

        reference_of = dict(ReferencePrice.objects.values_list("product_id", "pk"))
        seconds, written = timed(lambda: insert_orders(order_rows(n, rng, units, suppliers, categories, offers,
                                                                  reference_of)))
        out["insert"] = {"seconds": seconds, "rows": written}
        print(f"[{connection.vendor}] inserted {written:,} orders (+ one line each) in {seconds:.1f}s", flush=True)
        seconds, rows = timed(rollups.rebuild)
        out["rollup"] = {"seconds": seconds, "rows": rows, "month_rows": MonthRollup.objects.count(),
                         "category_rows": CategoryRollup.objects.count(),
                         "daily_4d_rows": Order.objects.exclude(status="cancelled")
                         .values("placed_on", "org_unit_id", "category_id", "supplier_id").distinct().count()}
        print(f"[{connection.vendor}] rollups rebuilt in {seconds:.1f}s: {out['rollup']}", flush=True)
        with connection.cursor() as cursor:
            # The statistics a running database has (autovacuum's ANALYZE; it is off on this
            # machine's server): without them PostgreSQL takes the reach's org units for one row
            # and sorts the rollups on disk instead of hashing them (the cold dashboard: 73 ms -> 40 ms).
            cursor.execute("ANALYZE")

        # (a) the sweep against pandas
        policy = services.policy_for(district)
        import pandas  # noqa: F401 - imported before the clock starts, as in a running process
        seconds, cpu, raised = timed_cpu(services.sweep)
        found = dict(Flag.objects.values_list("rule").annotate(n=Count("id")).order_by())
        out["sweep"] = {"seconds": seconds, "cpu": cpu, "raised": raised, "by_rule": found}
        seconds, _ = timed(services.sweep)
        out["sweep"]["rerun_seconds"] = seconds
        seconds, cpu, peer = timed_cpu(lambda: pandas_sweep(policy))
        out["pandas"] = {"seconds": seconds, "cpu": cpu, "by_rule": peer}
        print(f"[{connection.vendor}] sweep {out['sweep']}\n[{connection.vendor}] pandas {out['pandas']}", flush=True)

        # (b) the dashboard: rollups vs the live aggregate
        rolled, live = queries.figures(supervisor), queries.figures_live(supervisor)
        different = {k: (rolled[k], live[k]) for k in rolled if rolled[k] != live[k]}
        assert not different, f"rollup != live: {str(different)[:2000]}"
        # warm: the figures' cache holds the rollup sums for this reach and these versions;
        # cold: the cache emptied before each read, so the rollup GROUP BYs run every time
        out["figures_rollup"], out["figures_rollup_cpu"], _ = timed_cpu(lambda: queries.figures(supervisor), repeat=7)
        out["figures_cold"], out["figures_cold_cpu"], _ = timed_cpu(
            lambda: (cache.clear(), queries.figures(supervisor)), repeat=7)
        out["figures_live"], out["figures_live_cpu"], _ = timed_cpu(lambda: queries.figures_live(supervisor), repeat=3)
        client = Client()
        client.force_login(supervisor)
        client.get("/mall/")
        out["dashboard_page"], out["dashboard_page_cpu"], response = timed_cpu(lambda: client.get("/mall/"), repeat=7)
        assert response.status_code == 200, response.status_code
        out["dashboard_cold"], out["dashboard_cold_cpu"], _ = timed_cpu(
            lambda: (cache.clear(), client.get("/mall/")), repeat=7)

        # (c) the order list: first page and last page (keyset)
        client.get("/mall/orders/")
        out["list_first"], first = timed(lambda: client.get("/mall/orders/"), repeat=7)
        out["list_last"], last = timed(lambda: client.get("/mall/orders/?last=1"), repeat=7)
        assert first.status_code == last.status_code == 200
        return out
    finally:
        if keep:
            from django.conf import settings as kept

            print(f"kept: GOVDESK_DATA_DIR={data_dir} database {kept.DATABASES['default']['NAME']}", flush=True)
        else:
            if drop is not None:
                drop()
            shutil.rmtree(data_dir, ignore_errors=True)


def report(out: dict) -> str:
    ms = 1000
    r = out["rollup"]
    sweep, peer = out["sweep"], out["pandas"]

    def cpu_pair(warm: str, cold: str) -> str:
        return f"{out[warm] * ms:.1f} / {out[cold] * ms:.1f}"

    lines = [
        f"{out['database']}, {out['orders']:,} orders (written in {out['insert']['seconds']:.1f} s; rollups rebuilt in "
        f"{r['seconds']:.1f} s: {r['month_rows']:,} month rows + {r['category_rows']:,} category rows; a daily "
        f"unit x category x supplier rollup would have {r['daily_4d_rows']:,} rows)",
        f"  {'measure':44} {'ours':>11} {'peer':>11} {'ratio':>8}  target",
        f"  {'(a) supervision sweep vs pandas (s)':44} {sweep['seconds']:11.2f} {peer['seconds']:11.2f} "
        f"{peer['seconds'] / sweep['seconds']:7.1f}x  > 1x (ours faster)",
        f"  {'    the same, CPU of this process (s)':44} {sweep['cpu']:11.2f} {peer['cpu']:11.2f} "
        f"{peer['cpu'] / sweep['cpu']:7.1f}x",
        f"  {'    sweep again, nothing new (s)':44} {sweep['rerun_seconds']:11.2f}",
        f"  {'(b) figures: rollups vs live aggregate (ms)':44} {out['figures_rollup'] * ms:11.1f} "
        f"{out['figures_live'] * ms:11.1f} {out['figures_live'] / out['figures_rollup']:7.1f}x  >= 10x",
        f"  {'    figures, cache cold (ms)':44} {out['figures_cold'] * ms:11.1f} "
        f"{out['figures_live'] * ms:11.1f} {out['figures_live'] / out['figures_cold']:7.1f}x",
        f"  {'    CPU: figures warm / cold vs live (ms)':44} "
        f"{cpu_pair('figures_rollup_cpu', 'figures_cold_cpu'):>11} {out['figures_live_cpu'] * ms:11.1f}",
        f"  {'    dashboard page, server time (ms)':44} {out['dashboard_page'] * ms:11.1f} {'':>11} {'':>8}  < 50 ms",
        f"  {'    dashboard page, cache cold (ms)':44} {out['dashboard_cold'] * ms:11.1f}",
        f"  {'    CPU: dashboard page warm / cold (ms)':44} "
        f"{cpu_pair('dashboard_page_cpu', 'dashboard_cold_cpu'):>11}",
        f"  {'(c) order list: first page vs last (ms)':44} {out['list_first'] * ms:11.1f} {out['list_last'] * ms:11.1f} "
        f"{out['list_last'] / out['list_first']:7.2f}x  ~1x",
        f"  flags raised by the sweep: {sweep['by_rule']}",
        f"  pandas found:              {peer['by_rule']}",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench mall", description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    add_database_option(parser)
    parser.add_argument("--keep", action="store_true",
                        help="keep the database and the data folder afterwards (to profile on them)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # internal: one database per process
    args = parser.parse_args(argv)
    if args.orders < 1000:
        parser.error("--orders must be at least 1000")
    databases, admin_url = choose_databases(parser, args.database)
    if args.one or len(databases) == 1:
        print(report(bench(args.orders, databases[0], admin_url or None, args.keep)), flush=True)
        return 0
    import subprocess

    for database in databases:  # Django configures one database per process
        code = subprocess.call([sys.executable, "-m", "bench", "mall", "--orders", str(args.orders),
                                "--database", database, "--one", *(["--keep"] if args.keep else [])])
        if code:
            return code
    return 0

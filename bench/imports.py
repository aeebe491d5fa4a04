"""Issue 3's import benchmark: one generated registry workbook imported three ways.

    python -m bench                       # 100,000 rows on a throw-away SQLite file
    python -m bench --rows 5000           # smaller
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python -m bench
        # also on PostgreSQL: DATABASE_URL is the admin connection; the benchmark creates
        # bench_<pid>, runs there and drops it

The three ways, each on an empty registry (plus the same few already-registered people):

(a) ours: ``govdesk.core.tables.run.import_table(kind="veterans-records", mode="all")`` — every
    cell cleaned, ID numbers checked (check digit, region, birth date), gender and birth date
    checked against the ID, dates in order, category rules, community resolved within the
    importer's reach, duplicates refused (in the file and against the whole district), ID and
    phone encrypted and blind-indexed, one audit event per row, one transaction.
(b) django-import-export 4 at its fastest documented settings (``use_bulk``, ``skip_diff``,
    ``skip_html_diff``, ``batch_size=1000``, ``use_transactions``), reading the xlsx with its own
    tablib/openpyxl loader, with our ``clean_record`` + encryption in ``before_import_row``
    (so it does the same per-row validation and encryption) and the blind index as
    ``import_id_fields`` (so it finds already-registered people — with one SELECT per row,
    which is how it looks instances up). It writes no audit events and reports duplicates inside
    the file only as a database error of the whole bulk batch.
(c) the floor: python-calamine reads the sheet, ``bulk_create`` inserts the rows with no
    validation, no encryption and no audit (the ID number goes into the index column as is).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta

from bench._common import add_database_option, choose_databases, make_postgres, setup_django

HEADERS = ["姓名", "性别", "公民身份号码", "联系电话", "人员类别", "民族", "入伍时间", "退役时间", "社区", "家庭住址"]
REGIONS = ["410102", "410103", "410105", "410104", "410122"]
STREETS = ["林山寨街道", "建设路街道", "棉纺路街道", "秦岭路街道", "三官庙街道", "绿东村街道", "汝河路街道",
           "桐柏路街道", "须水街道", "西流湖街道", "中原西路街道", "石佛镇", "沟赵乡", "航海西路街道"]
CATEGORIES = ["退役士兵", "退役士兵", "退役士兵", "复员军人", "军队转业干部", "参战参试退役军人", "烈士遗属",
              "现役军人家属"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "建国军华伟强磊洋勇杰涛明超秀英敏静丽芳娜红霞平刚斌志宏新春海林峰亮辉"
ALREADY = 100  # people already registered (same content): they come back "unchanged"


# --- the file ------------------------------------------------------------------------------------

def id_number(rng: random.Random, seq: int) -> tuple[str, bool, date]:
    from stdnum.cn import ric

    born = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 45 * 365))
    male = rng.random() < 0.9
    serial = (seq % 500) * 2 + (1 if male else 0)
    body = f"{rng.choice(REGIONS)}{born:%Y%m%d}{serial:03d}"
    return body + ric.calc_check_digit(body + "0"), male, born


def generate(path: str, rows: int, seed: int = 20240601) -> list[list]:
    """Write the workbook (title row above the header, as real registers have) and return the
    first ``ALREADY`` rows, which the benchmark registers beforehand."""
    import xlsxwriter

    rng = random.Random(seed)
    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = book.add_worksheet("花名册")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_string(0, 0, "中原区退役军人和其他优抚对象信息采集花名册")
    for col, header in enumerate(HEADERS):
        sheet.write_string(1, col, header)
    seen: set[str] = set()
    first: list[list] = []
    n = 0
    while n < rows:
        idn, male, born = id_number(rng, n)
        if idn in seen:
            continue
        seen.add(idn)
        category = rng.choice(CATEGORIES)
        enlisted = discharged = None
        if category not in ("烈士遗属", "现役军人家属"):
            enlisted = date(born.year + 18, rng.choice((3, 9, 12)), 1)
            discharged = enlisted + timedelta(days=rng.randrange(2 * 365, 16 * 365))
            if discharged >= date.today():
                discharged = None
        street = rng.randrange(len(STREETS))
        community = f"{STREETS[street][:-2]}第{rng.randrange(1, 4)}社区"
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
        phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
        row = [name, "男" if male else "女", idn, phone, category, "汉族" if rng.random() < 0.97 else "回族",
               enlisted, discharged, community, f"郑州市中原区{STREETS[street]}{rng.randrange(1, 300)}号院"]
        r = n + 2
        for col, value in enumerate(row):
            if isinstance(value, date):
                sheet.write_datetime(r, col, value, date_format)
            elif value is not None:
                sheet.write_string(r, col, value)
        if n < ALREADY:
            first.append(row)
        n += 1
    book.close()
    return first


def first_rows(path: str) -> list[list]:
    """The first ``ALREADY`` rows of a workbook generated earlier (``--file``), as ``generate`` gave them."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    try:
        rows = book.worksheets[0].iter_rows(min_row=3, max_row=ALREADY + 2, values_only=True)
        return [[v.date() if isinstance(v, datetime) else v for v in row] for row in rows]
    finally:
        book.close()


# --- the database --------------------------------------------------------------------------------

def seed_world():
    """A district with 14 streets of three communities each, and the importer (a superuser)."""
    from govdesk.core import services
    from govdesk.core.models import OrgUnit, User

    root = User.objects.create_superuser("bench", "", "bench-password-1")
    district = services.orgunit_create(actor=root, parent=None, kind="district", code="410102", name="中原区")
    for i, street_name in enumerate(STREETS, start=1):
        street = services.orgunit_create(actor=root, parent=district, kind="street", code=f"S{i:02d}",
                                         name=street_name)
        for c in range(1, 4):
            services.orgunit_create(actor=root, parent=street, kind="community", code=f"S{i:02d}C{c}",
                                    name=f"{street_name[:-2]}第{c}社区")
    return root, {u.name: u for u in OrgUnit.objects.filter(kind="community")}


def reset_registry(root, already: list[list]) -> None:
    """Empty the registry, then register the first rows of the file (as an earlier import did)."""
    from django.db import transaction

    from govdesk.core.tables.schema import ValidRow
    from govdesk.veterans.imports import RECORDS
    from govdesk.veterans.models import Appointment, Record

    Appointment.objects.all().delete()
    Record.objects.all().delete()
    keys = [c.key for c in RECORDS.columns]
    rows = []
    for n, cells in enumerate(already, start=3):
        values = dict.fromkeys(keys)
        values.update(name=cells[0], gender=cells[1], id_number=cells[2], phone=cells[3], category=cells[4],
                      ethnicity=cells[5], enlisted_on=cells[6], discharged_on=cells[7], community=cells[8],
                      residential_address=cells[9])
        rows.append(ValidRow(row=n, values=values))
    with transaction.atomic():
        outcomes = RECORDS.apply_batch(root, rows, False)
    assert all(o == "created" for o in outcomes), outcomes[:3]


# --- (a) ours -----------------------------------------------------------------------------------

def run_ours(root, path: str) -> dict:
    from govdesk.core.tables.run import import_table

    start = time.perf_counter()
    result = import_table(actor=root, kind="veterans-records", file=path, mode="all")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "created": result.created, "unchanged": result.unchanged,
            "invalid": result.invalid, "errors": result.errors[:3]}


# --- (b) django-import-export ------------------------------------------------------------------

def import_export_resource(root, communities: dict):
    from django.core.exceptions import ValidationError
    from import_export import fields, resources, widgets

    from govdesk.core import personal
    from govdesk.core.errors import ServiceError
    from govdesk.veterans import services
    from govdesk.veterans.models import Category, Record

    categories = {c.name: c for c in Category.objects.all()}
    allowed = services.reach_paths(root, services.WORKERS)

    def text(column):
        return fields.Field(attribute=column, column_name=column, widget=widgets.CharWidget())

    class RecordResource(resources.ModelResource):
        name = text("name")
        gender = text("gender")
        ethnicity = text("ethnicity")
        birth_date = fields.Field(attribute="birth_date", column_name="birth_date", widget=widgets.DateWidget())
        enlisted_on = fields.Field(attribute="enlisted_on", column_name="enlisted_on", widget=widgets.DateWidget())
        discharged_on = fields.Field(attribute="discharged_on", column_name="discharged_on",
                                     widget=widgets.DateWidget())
        residential_address = text("residential_address")
        household_address = text("household_address")
        id_number_enc = text("id_number_enc")
        id_number_bidx = text("id_number_bidx")
        phone_enc = text("phone_enc")
        phone_bidx = text("phone_bidx")
        content_hash = text("content_hash")
        origin_hash = text("origin_hash")
        status = text("status")
        org_unit_id = fields.Field(attribute="org_unit_id", column_name="org_unit_id", widget=widgets.IntegerWidget())
        street_id = fields.Field(attribute="street_id", column_name="street_id", widget=widgets.IntegerWidget())
        category_id = fields.Field(attribute="category_id", column_name="category_id", widget=widgets.IntegerWidget())
        collector_id = fields.Field(attribute="collector_id", column_name="collector_id",
                                    widget=widgets.IntegerWidget())

        class Meta:
            model = Record
            fields = ("name", "gender", "ethnicity", "birth_date", "enlisted_on", "discharged_on",
                      "residential_address", "household_address", "id_number_enc", "id_number_bidx", "phone_enc",
                      "phone_bidx", "content_hash", "origin_hash", "status", "org_unit_id", "street_id",
                      "category_id", "collector_id")
            import_id_fields = ("id_number_bidx",)
            use_bulk = True
            batch_size = 1000
            skip_diff = True
            skip_html_diff = True
            skip_unchanged = True
            report_skipped = False
            use_transactions = True

        def before_import_row(self, row, **kwargs):
            """Our validation and encryption: the same ``clean_record`` as the entry form."""
            community = communities.get(row.get("社区"))
            data = {"name": row.get("姓名"), "gender": row.get("性别"), "id_number": row.get("公民身份号码"),
                    "phone": row.get("联系电话"), "category": categories.get(row.get("人员类别")),
                    "ethnicity": row.get("民族"), "enlisted_on": row.get("入伍时间"),
                    "discharged_on": row.get("退役时间"), "community": community,
                    "residential_address": row.get("家庭住址"), "household_address": row.get("家庭住址")}
            try:
                cleaned = services.clean_record(data)
            except ServiceError as e:
                raise ValidationError(e.message) from None
            if not any(community.path.startswith(p) for p in allowed):
                raise ValidationError("不在您的采集范围内")
            record = Record(collector=root, status=Record.Status.COLLECTED)
            services._apply(record, cleaned)
            row.update(name=record.name, gender=record.gender, ethnicity=record.ethnicity,
                       birth_date=record.birth_date.isoformat(),
                       enlisted_on=record.enlisted_on.isoformat() if record.enlisted_on else None,
                       discharged_on=record.discharged_on.isoformat() if record.discharged_on else None,
                       residential_address=record.residential_address, household_address=record.household_address,
                       id_number_enc=record.id_number_enc, id_number_bidx=record.id_number_bidx,
                       phone_enc=record.phone_enc, phone_bidx=record.phone_bidx, content_hash=record.content_hash,
                       origin_hash=record.content_hash, status=record.status, org_unit_id=record.org_unit_id,
                       street_id=record.street_id, category_id=record.category_id, collector_id=root.pk)
            assert personal  # the same personal-data functions as ours, through _apply

    return RecordResource()


def run_import_export(root, path: str, communities: dict) -> dict:
    import tablib

    start = time.perf_counter()
    with open(path, "rb") as f:
        book = tablib.Databook().load(f.read(), format="xlsx")
    sheet = book.sheets()[0]
    # tablib takes the first row as headers: ours has a title row above them.
    headers = list(sheet[0])
    resource_ = import_export_resource(root, communities)
    # The columns before_import_row fills in must exist in the dataset (import_id_fields are checked first).
    derived = list(resource_._meta.fields)
    pad = [None] * len(derived)
    data = tablib.Dataset(*[list(r) + pad for r in sheet[1:]], headers=headers + derived)
    result = resource_.import_data(data, dry_run=False, raise_errors=False, collect_failed_rows=False)
    seconds = time.perf_counter() - start
    totals = dict(result.totals)
    return {"seconds": seconds, "created": totals.get("new", 0), "unchanged": totals.get("skip", 0),
            "updated": totals.get("update", 0), "invalid": totals.get("invalid", 0) + totals.get("error", 0),
            "has_errors": result.has_errors(), "base_errors": [str(e.error)[:200] for e in result.base_errors[:2]]}


# --- (c) the floor ------------------------------------------------------------------------------

def run_floor(root, path: str, communities: dict) -> dict:
    import python_calamine
    from django.db import transaction

    from govdesk.veterans.models import Category, Record

    categories = {c.name: c.pk for c in Category.objects.all()}
    start = time.perf_counter()
    rows = python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python(skip_empty_area=False)
    collector, status = root.pk, Record.Status.COLLECTED
    objs = []
    for name, gender, idn, phone, category, ethnicity, enlisted, discharged, community, address in rows[2:]:
        unit = communities[community]
        objs.append(Record(name=name, gender=gender, id_number_enc=idn, id_number_bidx=idn, phone_enc=phone,
                           phone_bidx=phone, category_id=categories[category], ethnicity=ethnicity,
                           birth_date=date(int(idn[6:10]), int(idn[10:12]), int(idn[12:14])),
                           enlisted_on=enlisted or None, discharged_on=discharged or None, org_unit_id=unit.pk,
                           street_id=unit.parent_id, residential_address=address, household_address=address,
                           collector_id=collector, status=status, content_hash="", origin_hash=""))
    with transaction.atomic():
        Record.objects.bulk_create(objs, batch_size=1000)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "created": len(objs)}


# --- the run ------------------------------------------------------------------------------------

def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


WAYS = ("ours", "import-export", "floor")


def bench(rows: int, database: str, admin_url: str | None, only: tuple = WAYS, keep: str = "") -> dict:
    data_dir = tempfile.mkdtemp(prefix="govdesk-bench-")
    drop = None
    try:
        url = None
        if database == "postgresql":
            url, drop = make_postgres(admin_url)
        setup_django(data_dir, url)
        from django.db import connection

        from govdesk.veterans.models import Record

        root, communities = seed_world()
        path = keep or os.path.join(data_dir, "registry.xlsx")
        t = time.perf_counter()
        if keep and os.path.exists(keep):
            already = first_rows(keep)
            print(f"[{connection.vendor}] reusing {keep}", flush=True)
        else:
            already = generate(path, rows)
            print(f"[{connection.vendor}] generated {rows} rows in {time.perf_counter() - t:.1f}s "
                  f"({os.path.getsize(path) / 1e6:.1f} MB)", flush=True)
        out = {"database": connection.vendor, "rows": rows}

        if "ours" in only:
            reset_registry(root, already)
            rss_before = peak_rss_mb()
            out["ours"] = timed_cpu(lambda: run_ours(root, path))
            out["ours"]["peak_rss_mb"] = peak_rss_mb()
            out["ours"]["rss_growth_mb"] = out["ours"]["peak_rss_mb"] - rss_before
            out["ours"]["in_db"] = Record.objects.count()
            print(f"[{connection.vendor}] ours: {out['ours']}", flush=True)

        if "import-export" in only:
            reset_registry(root, already)
            out["import_export"] = timed_cpu(lambda: run_import_export(root, path, communities))
            out["import_export"]["in_db"] = Record.objects.count()
            print(f"[{connection.vendor}] django-import-export: {out['import_export']}", flush=True)

        if "floor" in only:
            Record.objects.all().delete()
            out["floor"] = timed_cpu(lambda: run_floor(root, path, communities))
            out["floor"]["in_db"] = Record.objects.count()
            print(f"[{connection.vendor}] floor: {out['floor']}", flush=True)
        return out
    finally:
        if drop is not None:
            drop()
        shutil.rmtree(data_dir, ignore_errors=True)


def cpu_seconds() -> tuple[float, float]:
    """(this process's CPU, the database server's CPU for this connection): on a loaded machine the
    sum is a fairer measure than wall time. The server's share is read from /proc for a local
    PostgreSQL backend; SQLite runs inside this process (0)."""
    from django.db import connection

    server = 0.0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            server = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            server = float("nan")  # not a local server
    return time.process_time(), server


def timed_cpu(call) -> dict:
    before = cpu_seconds()
    out = call()
    after = cpu_seconds()
    out["cpu_s"], out["db_cpu_s"] = after[0] - before[0], after[1] - before[1]
    return out


def report(out: dict) -> str:
    rows = out["rows"]
    rate = {k: rows / out[k]["seconds"] for k in ("ours", "import_export", "floor") if k in out}
    lines = [f"{out['database']}, {rows} rows:"]
    if "ours" in out:
        lines.append(f"  ours (engine, all checks, encryption, audit)  {out['ours']['seconds']:8.1f} s"
                     f"  {rate['ours']:9.0f} rows/s  peak RSS {out['ours']['peak_rss_mb']:.0f} MB")
    if "import_export" in out:
        lines.append(f"  django-import-export (bulk, skip_diff)        {out['import_export']['seconds']:8.1f} s"
                     f"  {rate['import_export']:9.0f} rows/s")
    if "floor" in out:
        lines.append(f"  floor (calamine + bulk_create)                {out['floor']['seconds']:8.1f} s"
                     f"  {rate['floor']:9.0f} rows/s")
    ratios = []
    if "ours" in rate and "import_export" in rate:
        ratios.append(f"ours / import-export = {rate['ours'] / rate['import_export']:.2f}x (target >= 3)")
    if "ours" in rate and "floor" in rate:
        ratios.append(f"ours / floor = {rate['ours'] / rate['floor']:.2f}x (target >= 0.6)")
    if ratios:
        lines.append("  " + "   ".join(ratios))
    cpu = {k: out[k]["cpu_s"] + out[k]["db_cpu_s"] for k in ("ours", "import_export", "floor")
           if k in out and "cpu_s" in out[k]}
    if cpu:
        lines.append("  CPU (this process + database server): "
                     + ", ".join(f"{k} {v:.1f} s" for k, v in cpu.items()))
        cpu_ratios = []
        if "ours" in cpu and "import_export" in cpu:
            cpu_ratios.append(f"ours / import-export = {cpu['import_export'] / cpu['ours']:.2f}x")
        if "ours" in cpu and "floor" in cpu:
            cpu_ratios.append(f"ours / floor = {cpu['floor'] / cpu['ours']:.2f}x")
        if cpu_ratios:
            lines.append("  by CPU: " + "   ".join(cpu_ratios) + f"   (load average {os.getloadavg()[0]:.1f})")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    add_database_option(parser)
    parser.add_argument("--only", default=",".join(WAYS),
                        help="comma-separated ways to run (ours, import-export, floor); all by default")
    parser.add_argument("--file", default="", help="keep the generated workbook here and reuse it if it exists")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # internal: one database per process
    args = parser.parse_args(argv)
    databases, admin_url = choose_databases(parser, args.database)
    if args.one or len(databases) == 1:
        only = tuple(w.strip() for w in args.only.split(",") if w.strip())
        if set(only) - set(WAYS):
            parser.error(f"--only takes {', '.join(WAYS)}")
        out = bench(args.rows, databases[0], admin_url or None, only, args.file)
        print(report(out), flush=True)
        return 0
    # Django configures one database per process: run each in its own.
    import subprocess

    for database in databases:
        code = subprocess.call([sys.executable, "-m", "bench", "imports", "--rows", str(args.rows),
                                "--database", database, "--only", args.only, "--file", args.file, "--one"])
        if code:
            return code
    return 0

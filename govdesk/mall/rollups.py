"""The figures' rollups: live orders summed so the dashboard and the district overview read a
few thousand rows instead of every order.

- ``MonthRollup``: month x purchasing unit x supplier — the totals, the months, the top units
  and the top suppliers;
- ``CategoryRollup``: year x purchasing unit x supplier x category — the top categories and the
  encouraged share.

Both keep the purchasing unit and the supplier, because that is what reach filters on (an
order is seen from the unit's side or the supplier's), and nothing finer than the figures
show. A single daily rollup per unit x category x supplier would not help: at that grain a
unit rarely buys twice in a day, so it has about as many rows as there are orders
(bench/README.md has the counts measured on the benchmark's million orders).

The order services call ``shift`` in their own transaction with what an order counted for
before the change and what it counts for after (``contribution``); ``shift`` adds the
difference with ``INSERT ... ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL both have it),
keys in sorted order so two transactions never take the same rows in opposite orders.
``rebuild`` recomputes both tables from the orders (``govdesk mall rollup --rebuild``). Both raise
the figures' versions of the units they touch (``bump``, in the same transaction): the key of the
cache ``queries.figures`` reads through.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, DateField, F, Func, IntegerField, Sum, Value
from django.db.models.functions import Cast, ExtractYear, TruncMonth

from .models import ROLLUP_VALUES as VALUES
from .models import CategoryRollup, FiguresVersion, MonthRollup, Order

NOT_COUNTED = (Order.Status.CANCELLED, Order.Status.PENDING)  # what ``contribution`` leaves out


@dataclass(frozen=True)
class Contribution:
    month: object  # date: the first day of the order's month
    org_unit_id: int
    supplier_id: int
    category_id: int
    figures: tuple[int, int, int]  # orders, amount, savings (fen)


def fen(value) -> int:
    return int((Decimal(value or 0) * 100).quantize(Decimal("1")))


def contribution(order: Order) -> Contribution | None:
    """What ``order`` adds to the figures as it stands: nothing while it waits for the unit's
    approval (its supplier does not see it yet) and nothing once cancelled."""
    if order.status in NOT_COUNTED:
        return None
    return Contribution(order.placed_on.replace(day=1), order.org_unit_id, order.supplier_id, order.category_id,
                        (1, fen(order.total), fen(order.savings)))


def _upsert(model, key_columns: tuple[str, ...], delta: dict[tuple, list[int]]) -> None:
    rows = [(key, d) for key, d in sorted(delta.items()) if any(d)]
    if not rows:
        return
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    columns = ", ".join((*key_columns, *VALUES))
    marks = ", ".join(["%s"] * (len(key_columns) + len(VALUES)))
    updates = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in VALUES)
    sql = (f"INSERT INTO {table} ({columns}) VALUES ({marks}) "
           f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates}")
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(*key, *d) for key, d in rows])
    for key, d in rows:
        if d[0] < 0:  # an order left this group: drop the group when it is empty
            model.objects.filter(orders=0, **dict(zip(key_columns, key, strict=True))).delete()


def shift(*, removed=(), added=()) -> None:
    """Take the ``removed`` contributions out and put the ``added`` ones in (``None`` entries
    are skipped). Call it in the transaction that changes the orders."""
    months: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    categories: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for sign, items in ((-1, removed), (1, added)):
        for c in items:
            if c is None:
                continue
            for target, key in ((months, (c.month, c.org_unit_id, c.supplier_id)),
                                (categories, (c.month.year, c.org_unit_id, c.supplier_id, c.category_id))):
                for i, value in enumerate(c.figures):
                    target[key][i] += sign * value
    _upsert(MonthRollup, ("month", "org_unit_id", "supplier_id"), months)
    _upsert(CategoryRollup, ("year", "org_unit_id", "supplier_id", "category_id"), categories)
    bump({key[1] for key, d in months.items() if any(d)} | {key[1] for key, d in categories.items() if any(d)})


def bump(unit_ids) -> None:
    """Raise the figures' version of these purchasing units (after their rollup rows, in
    sorted order like them): a cached figure keyed by the old versions is never read again."""
    if not unit_ids:
        return
    table = connection.ops.quote_name(FiguresVersion._meta.db_table)
    sql = (f"INSERT INTO {table} (org_unit_id, version) VALUES (%s, 1) "
           f"ON CONFLICT (org_unit_id) DO UPDATE SET version = {table}.version + 1")
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(unit_id,) for unit_id in sorted(unit_ids)])


def versions() -> tuple:
    """Every unit's figures version: changes whenever a committed change reaches the rollups."""
    return tuple(FiguresVersion.objects.order_by("org_unit_id").values_list("org_unit_id", "version"))


def month_and_year():
    """The first day of an order's month and its year, computed by the database itself
    (Django's SQLite Trunc/Extract call back into Python for every row)."""
    if connection.vendor == "sqlite":
        return (Func(F("placed_on"), Value("start of month"), function="DATE", output_field=DateField()),
                Cast(Func(Value("%Y"), F("placed_on"), function="STRFTIME"), IntegerField()))
    return TruncMonth("placed_on"), ExtractYear("placed_on")


def live_months(orders=None):
    """The live aggregates the rollups stand for (also what ``rebuild`` reads)."""
    orders = (Order.objects.all() if orders is None else orders).exclude(status__in=NOT_COUNTED)
    month, _year = month_and_year()
    return (orders.annotate(m=month).values("m", "org_unit_id", "supplier_id")
            .annotate(n=Count("id"), amount=Sum("total"), savings=Sum("savings")).order_by())


def live_categories(orders=None):
    orders = (Order.objects.all() if orders is None else orders).exclude(status__in=NOT_COUNTED)
    _month, year = month_and_year()
    return (orders.annotate(y=year).values("y", "org_unit_id", "supplier_id", "category_id")
            .annotate(n=Count("id"), amount=Sum("total"), savings=Sum("savings")).order_by())


@transaction.atomic
def rebuild() -> int:
    """Recompute both rollups from the orders; answers the number of rows written."""
    tables = [MonthRollup, CategoryRollup]
    if connection.vendor == "postgresql":
        # An order service holds row locks on these tables until it commits: the rebuild waits
        # for it (and sees its order), and later shifts wait for the rebuild — none is lost or
        # counted twice.
        with connection.cursor() as cursor:
            for model in tables:
                cursor.execute(f"LOCK TABLE {connection.ops.quote_name(model._meta.db_table)} IN EXCLUSIVE MODE")
    for model in tables:
        model.objects.all().delete()
    months = [MonthRollup(month=g["m"], org_unit_id=g["org_unit_id"], supplier_id=g["supplier_id"], orders=g["n"],
                          amount_fen=fen(g["amount"]), savings_fen=fen(g["savings"])) for g in live_months()]
    categories = [CategoryRollup(year=g["y"], org_unit_id=g["org_unit_id"], supplier_id=g["supplier_id"],
                                 category_id=g["category_id"], orders=g["n"], amount_fen=fen(g["amount"]),
                                 savings_fen=fen(g["savings"])) for g in live_categories()]
    MonthRollup.objects.bulk_create(months, batch_size=2000)
    CategoryRollup.objects.bulk_create(categories, batch_size=2000)
    bump(set(FiguresVersion.objects.values_list("org_unit_id", flat=True)) | {m.org_unit_id for m in months})
    return len(months) + len(categories)

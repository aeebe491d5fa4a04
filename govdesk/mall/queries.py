"""Scoped reads of the mall: every query starts from ``restrict``."""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils.dateparse import parse_date

from govdesk.core import personal
from govdesk.core.models import OrgUnit
from govdesk.core.periods import day_start
from govdesk.core.reach import VIEW, Role, paths_for, roles_of, subtree_q

from . import rollups
from .models import (
    ORDER_SUPPLIER_ROLES,
    ORDER_UNIT_VIEW,
    ZERO,
    Admission,
    Bid,
    CartLine,
    Category,
    CategoryRollup,
    Flag,
    MonthRollup,
    Negotiation,
    Offer,
    Order,
    Product,
    Sanction,
)

CATALOGUE_SORTS = {"price": "list_price", "updated": "updated_at", "id": "id"}
ORDER_SORTS = {"placed": "placed_at", "total": "total"}


def categories_visible(user, *, mall: str = "", encouraged: str = ""):
    qs = Category.objects.restrict(user, VIEW)
    if mall in ("0", "1"):
        qs = qs.filter(is_mall=mall == "1")
    if encouraged in ("0", "1"):
        qs = qs.filter(is_encouraged=encouraged == "1")
    return qs


def product_text_q(q: str, prefix: str = "") -> Q | None:
    """A product searched by name, brand, model, category name or code, or pinyin initials (of
    its name, or of brand and name: ``services.product_initials``; of its category)."""
    q = personal.fold(q or "").strip()
    if not q:
        return None
    lowered = q.lower()
    p = prefix
    return (Q(**{f"{p}name__icontains": q}) | Q(**{f"{p}brand__icontains": q}) | Q(**{f"{p}model__icontains": q})
            | Q(**{f"{p}category__name__icontains": q}) | Q(**{f"{p}category__code__iexact": q})
            | Q(**{f"{p}initials__startswith": lowered}) | Q(**{f"{p}initials__contains": f" {lowered}"})
            | Q(**{f"{p}category__initials__startswith": lowered}))


def catalogue_search(user, *, q: str = "", category: str = "", encouraged: str = "", supplier: str = "",
                     min_price: str = "", max_price: str = ""):
    """Listed offers, searchable by product name, brand, model, category and pinyin initials."""
    qs = (Offer.objects.restrict(user, VIEW).filter(status=Offer.Status.LISTED)
          .select_related("product__category", "supplier"))
    if (text := product_text_q(q, "product__")) is not None:
        qs = qs.filter(text)
    if category.isdigit():
        qs = qs.filter(product__category_id=int(category))
    if encouraged == "1":
        qs = qs.filter(product__category__is_encouraged=True)
    if supplier.isdigit():
        qs = qs.filter(supplier_id=int(supplier))
    for value, lookup in ((min_price, "list_price__gte"), (max_price, "list_price__lte")):
        try:
            if value:
                qs = qs.filter(**{lookup: Decimal(personal.fold(value))})
        except ArithmeticError:
            pass
    return qs


def products_visible(user):
    return Product.objects.restrict(user, VIEW).select_related("category")


def offers_of_supplier(user, *, status: str = ""):
    """The offers a supplier manages (its own, whatever their status)."""
    qs = Offer.objects.restrict(user, "change").select_related("product__category", "supplier")
    if status:
        qs = qs.filter(status=status)
    return qs


def cart_of(user):
    return CartLine.objects.restrict(user, VIEW).select_related("offer__product__category", "offer__supplier")


def cart_groups(user) -> list[dict]:
    """The cart as it will be split into orders: one group per supplier and category."""
    groups: dict[tuple, dict] = {}
    for line in cart_of(user).order_by("added_at", "id"):
        offer = line.offer
        key = (offer.supplier_id, offer.product.category_id)
        group = groups.setdefault(key, {"supplier": offer.supplier, "category": offer.product.category, "lines": [],
                                        "total": ZERO})
        line.amount = offer.list_price * line.quantity
        group["lines"].append(line)
        group["total"] += line.amount
    for negotiation in Negotiation.objects.restrict(user, VIEW).filter(
            order__isnull=True, buyer=user, status__in=[Negotiation.Status.OPEN, Negotiation.Status.AGREED]):
        group = groups.get((negotiation.supplier_id, negotiation.category_id))
        if group is not None:
            group["negotiation"] = negotiation
    return list(groups.values())


ORDER_NUMBER = re.compile(r"^CG(\d{4})(\d{2})(\d{2})(\d{6,})?$", re.IGNORECASE)


def _day(value) -> date | None:
    try:
        return parse_date((value or "").strip())
    except ValueError:
        return None


def _number_q(q: str) -> Q | None:
    """An order number (``Order.number``: CG + placed date + id) parsed back to its row; the
    number's date part alone finds that day's orders."""
    found = ORDER_NUMBER.match(personal.fold(q).strip())
    day = _day("-".join(found.groups()[:3])) if found else None
    if day is None:
        return None
    return Q(placed_on=day, pk=int(found[4])) if found[4] else Q(placed_on=day)


def _unit_q(user, lookup: str, unit) -> Q | None:
    """A purchasing unit chosen in a filter, with the units under it (a street takes its
    communities). A unit outside the user's reach still narrows to itself: the rows are
    scoped anyway, and a supplier may know its customers' ids without reaching their tree."""
    if not str(unit or "").isdigit():
        return None
    found = OrgUnit.objects.restrict(user, VIEW).filter(pk=int(unit)).values_list("path", flat=True).first()
    if found:
        return Q(**{f"{lookup}__path__startswith": found})
    return Q(**{f"{lookup}_id": int(unit)})


def orders_visible(user, *, status: str = "", q: str = "", date_from: str = "", date_to: str = "", unit: str = "",
                   category: str = ""):
    """The order list: status, free text (a unit, supplier or category name, or the order
    number), placed between two dates (inclusive), a purchasing unit (and below), a category."""
    qs = Order.objects.restrict(user, VIEW).select_related("org_unit", "supplier", "category")
    if status:
        qs = qs.filter(status=status)
    q = (q or "").strip()
    if q:
        text = Q(org_unit__name__icontains=q) | Q(supplier__name__icontains=q) | Q(category__name__icontains=q)
        number = _number_q(q)
        qs = qs.filter(text | number if number is not None else text)
    if day := _day(date_from):
        qs = qs.filter(placed_on__gte=day)
    if day := _day(date_to):
        qs = qs.filter(placed_on__lte=day)
    if (unit_q := _unit_q(user, "org_unit", unit)) is not None:
        qs = qs.filter(unit_q)
    if str(category or "").isdigit():
        qs = qs.filter(category_id=int(category))
    return qs


# The order list's filters as they appear in its URL (and go into its export): name -> argument
ORDER_FILTERS = {"status": "status", "q": "q", "from": "date_from", "to": "date_to", "unit": "unit",
                 "category": "category"}


def orders_filtered(user, params):
    """``orders_visible`` with the filters of a query string (the page) or of an export job."""
    return orders_visible(user, **{arg: (params.get(name) or "").strip() for name, arg in ORDER_FILTERS.items()})


def filter_units(user):
    """The purchasing units a user may pick in a filter (the tree they reach, units that buy)."""
    return (OrgUnit.objects.restrict(user, VIEW)
            .filter(kind__in=[OrgUnit.Kind.DEPARTMENT, OrgUnit.Kind.STREET, OrgUnit.Kind.COMMUNITY,
                              OrgUnit.Kind.INSTITUTION]).order_by("path"))


def filter_suppliers(user):
    return OrgUnit.objects.restrict(user, VIEW).filter(kind=OrgUnit.Kind.ENTERPRISE).order_by("name", "pk")


def negotiations_visible(user, *, status: str = "", turn: str = ""):
    """Every negotiation the user may see (the buyer's unit, the supplier), newest first;
    those on a cart that never became an order too. ``turn``: whose answer is awaited."""
    qs = (Negotiation.objects.restrict(user, VIEW)
          .select_related("org_unit", "supplier", "category", "order", "buyer", "order__org_unit",
                          "order__supplier", "order__category").order_by("-opened_at", "-id"))
    if status:
        qs = qs.filter(status=status)
    if turn:
        qs = qs.filter(turn=turn)
    return qs


def negotiations_of(user, order: Order):
    return Negotiation.objects.restrict(user, VIEW).filter(order=order).order_by("-opened_at")


def bids_of(user, negotiation: Negotiation):
    return Bid.objects.restrict(user, VIEW).filter(negotiation=negotiation).select_related("by").order_by("round")


def admissions_visible(user, *, status: str = ""):
    qs = Admission.objects.restrict(user, VIEW).select_related("supplier", "category").prefetch_related("files")
    if status:
        qs = qs.filter(status=status)
    return qs


def sanctions_visible(user):
    return (Sanction.objects.restrict(user, VIEW).select_related("supplier", "category", "decided_by")
            .prefetch_related("files"))


def flags_visible(user, *, status: str = "", rule: str = "", unit: str = "", supplier: str = "", date_from: str = "",
                  date_to: str = ""):
    """The supervision queue: status ("active": not closed), rule, purchasing unit (and below),
    supplier, raised between two local dates (inclusive)."""
    qs = Flag.objects.restrict(user, VIEW).select_related("org_unit", "supplier", "category", "order")
    if status == "active":
        qs = qs.exclude(status=Flag.Status.CLOSED)
    elif status:
        qs = qs.filter(status=status)
    if rule:
        qs = qs.filter(rule=rule)
    if (unit_q := _unit_q(user, "org_unit", unit)) is not None:
        qs = qs.filter(unit_q)
    if str(supplier or "").isdigit():
        qs = qs.filter(supplier_id=int(supplier))
    if day := _day(date_from):
        qs = qs.filter(raised_at__gte=day_start(day))
    if day := _day(date_to):
        qs = qs.filter(raised_at__lt=day_start(day + timedelta(days=1)))
    return qs


# The flag queue's filters in its URL and its export: name -> argument ("status" is special:
# the queue opens on the active flags, "all" in an export means every status)
FLAG_FILTERS = {"rule": "rule", "unit": "unit", "supplier": "supplier", "from": "date_from", "to": "date_to"}


def flags_filtered(user, params, *, status: str):
    return flags_visible(user, status=status,
                         **{arg: (params.get(name) or "").strip() for name, arg in FLAG_FILTERS.items()})


def products_to_offer(user, *, q: str = ""):
    """The products a supplier may offer (those of the categories it is admitted to), searchable
    like the catalogue: name, brand, model, category name or code, pinyin initials."""
    admitted = Admission.objects.restrict(user, VIEW).filter(status=Admission.Status.ADMITTED)
    qs = products_visible(user).filter(category__in=admitted.values("category"))
    if (text := product_text_q(q)) is not None:
        qs = qs.filter(text)
    return qs


def is_supervising(user) -> bool:
    return bool(roles_of(user) & Flag.SUPERVISING) or user.is_superuser


def _flags_open(user):
    return (Flag.objects.restrict(user, VIEW).exclude(status=Flag.Status.CLOSED).count()
            if is_supervising(user) else None)


def _shape(totals: dict, encouraged, by_month, top, flags_open) -> dict:
    amount = totals["amount"] or ZERO
    encouraged = encouraged or ZERO
    return {
        "orders": totals["n"] or 0,
        "amount": amount,
        "savings": totals["savings"] or ZERO,
        "encouraged_amount": encouraged,
        "encouraged_share": (encouraged * 100 / amount).quantize(Decimal("0.1")) if amount else Decimal("0"),
        "by_month": by_month,
        "by_unit": top("org_unit_id", "org_unit__name"),
        "by_category": top("category_id", "category__name"),
        "by_supplier": top("supplier_id", "supplier__name"),
        "flags_open": flags_open,
    }


def _yuan(fen) -> Decimal:
    return (Decimal(fen or 0) / 100).quantize(Decimal("0.01"))


FIGURES_CACHE_SECONDS = 3600


def _rolled_sums(user) -> dict:
    """The rollups summed over the user's reach: totals, by month, per unit, per supplier and
    per category, as [orders, fen, saved fen] (names and the categories' current flags are
    looked up by the caller: they can change without the orders changing). Three small
    GROUP BYs (by month; by unit and supplier; by category)."""
    months = MonthRollup.objects.restrict(user, VIEW)
    categories = CategoryRollup.objects.restrict(user, VIEW)
    sums = {"n": Sum("orders"), "fen": Sum("amount_fen"), "saved": Sum("savings_fen")}
    by_unit: dict[int, list[int]] = {}
    by_supplier: dict[int, list[int]] = {}
    for r in months.values("org_unit_id", "supplier_id").annotate(**sums).order_by():
        for grouped, key in ((by_unit, r["org_unit_id"]), (by_supplier, r["supplier_id"])):
            g = grouped.setdefault(key, [0, 0, 0])
            g[0], g[1], g[2] = g[0] + r["n"], g[1] + r["fen"], g[2] + r["saved"]
    return {
        "by_month": [(r["month"], r["n"], r["fen"], r["saved"])
                     for r in months.values("month").annotate(**sums).order_by("month")],
        "by_unit": by_unit,
        "by_supplier": by_supplier,
        "by_category": {r["category_id"]: [r["n"], r["fen"], r["saved"]]
                        for r in categories.values("category_id").annotate(**sums).order_by()},
    }


def _units_under(paths: list[str]) -> tuple:
    return tuple(OrgUnit.objects.filter(subtree_q("path", paths)).order_by("pk").values_list("pk", flat=True)) \
        if paths else ()


def _cached_sums(user) -> dict:
    """``_rolled_sums`` through the cache, keyed by what the user's reach selects (the units
    within the paths ``order_q`` filters on, purchasing side and supplier side: a unit moved in
    the tree changes them) and the rollups' versions (``rollups.versions``: raised by every
    change in the change's own transaction). The key is read before the sums, so a cached
    entry is never older than its key. Inside a transaction nothing is cached: it may see its
    own uncommitted rollup changes, under versions a rolled-back transaction would give back."""
    if connection.in_atomic_block:
        return _rolled_sums(user)
    reach = (_units_under(paths_for(user, ORDER_UNIT_VIEW)), _units_under(paths_for(user, ORDER_SUPPLIER_ROLES)))
    digest = hashlib.sha256(repr((reach, rollups.versions())).encode()).hexdigest()
    key = f"mall:figures:{digest}"
    found = cache.get(key)
    if found is None:
        found = _rolled_sums(user)
        cache.set(key, found, FIGURES_CACHE_SECONDS)
    return found


def figures(user) -> dict:
    """Orders, amount and savings by month, unit, category and supplier, over the orders the
    user may see (cancelled ones excluded) — read from the rollups (``rollups.py``), which hold
    the same sums per month x unit x supplier and per year x unit x supplier x category, through
    a cache invalidated by the rollups' upkeep (``_cached_sums``). Names and the categories'
    encouraged flags are read fresh: only the ten shown per list, and the categories summed."""
    sums = _cached_sums(user)

    def money(row: dict, n: int, fen: int, saved: int) -> dict:
        return {**row, "n": n or 0, "amount": _yuan(fen), "savings": _yuan(saved)}

    def best(grouped: dict, limit: int = 10) -> list:
        return sorted(grouped.items(), key=lambda item: (-item[1][1], item[0]))[:limit]

    top_units, top_suppliers = best(sums["by_unit"]), best(sums["by_supplier"])
    names = dict(OrgUnit.objects.filter(pk__in=[k for k, _v in top_units + top_suppliers]).values_list("pk", "name"))
    meta = {pk: (name, encouraged) for pk, name, encouraged in Category.objects.filter(
        pk__in=list(sums["by_category"])).values_list("pk", "name", "is_encouraged")}
    totals = [sum(v[i] for v in sums["by_unit"].values()) for i in range(3)]
    amount = _yuan(totals[1])
    encouraged = _yuan(sum(v[1] for k, v in sums["by_category"].items() if meta[k][1]))
    return {
        "orders": totals[0],
        "amount": amount,
        "savings": _yuan(totals[2]),
        "encouraged_amount": encouraged,
        "encouraged_share": (encouraged * 100 / amount).quantize(Decimal("0.1")) if amount else Decimal("0"),
        "by_month": [money({"month": month}, n, fen, saved) for month, n, fen, saved in sums["by_month"]],
        "by_unit": [money({"org_unit_id": k, "org_unit__name": names.get(k, "")}, *v) for k, v in top_units],
        "by_category": [money({"category_id": k, "category__name": meta[k][0]}, *v)
                        for k, v in best(sums["by_category"])],
        "by_supplier": [money({"supplier_id": k, "supplier__name": names.get(k, "")}, *v) for k, v in top_suppliers],
        "flags_open": _flags_open(user),
    }


def figures_live(user) -> dict:
    """The same figures aggregated live over the orders: what the rollups replaced. Kept for
    the tests (rollups == live) and the benchmark (rollups vs live). Sums are rounded to the
    fen: SQLite adds decimals as floats."""
    live = Order.objects.restrict(user, VIEW).exclude(status__in=rollups.NOT_COUNTED)
    sums = {"n": Count("id"), "amount": Sum("total"), "savings": Sum("savings")}

    def money(row: dict) -> dict:
        row["amount"], row["savings"] = _cents(row["amount"]), _cents(row["savings"])
        return row

    totals = money(live.aggregate(**sums))
    encouraged = _cents(live.filter(category__is_encouraged=True).aggregate(s=Sum("total"))["s"])
    by_month = [money(r) for r in live.annotate(month=TruncMonth("placed_on")).values("month").annotate(**sums)
                .order_by("month")]

    def top(field: str, label: str, limit: int = 10):
        return [money(r) for r in live.values(field, label).annotate(**sums).order_by("-amount", field)[:limit]]

    return _shape(totals, encouraged, by_month, top, _flags_open(user))


def _cents(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def charts(fig: dict) -> dict:
    months = [row["month"].strftime("%Y-%m") for row in fig["by_month"]]

    def bar(rows, key, title):
        rows = list(reversed(rows))
        return {"title": {"text": title, "left": "center", "textStyle": {"fontSize": 14}},
                "tooltip": {"trigger": "axis"}, "grid": {"left": 140},
                "xAxis": {"type": "value"}, "yAxis": {"type": "category", "data": [r[key] for r in rows]},
                "series": [{"type": "bar", "name": "金额（元）", "data": [float(r["amount"]) for r in rows]}]}

    return {
        "mall-months": {
            "title": {"text": "月度订单金额与节约", "left": "center", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"}, "legend": {"bottom": 0},
            "xAxis": {"type": "category", "data": months}, "yAxis": [{"type": "value"}, {"type": "value"}],
            "series": [
                {"type": "bar", "name": "成交金额（元）", "data": [float(r["amount"]) for r in fig["by_month"]]},
                {"type": "bar", "name": "节约金额（元）", "data": [float(r["savings"] or 0) for r in fig["by_month"]]},
                {"type": "line", "name": "订单数", "yAxisIndex": 1, "data": [r["n"] for r in fig["by_month"]]},
            ],
        },
        "mall-units": bar(fig["by_unit"], "org_unit__name", "采购单位 Top 10"),
        "mall-categories": bar(fig["by_category"], "category__name", "品目 Top 10"),
        "mall-suppliers": bar(fig["by_supplier"], "supplier__name", "供应商 Top 10"),
        "mall-encouraged": {
            "title": {"text": "鼓励品目占比", "left": "center", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "item"},
            "series": [{"type": "pie", "radius": ["35%", "65%"], "data": [
                {"name": "鼓励品目", "value": float(fig["encouraged_amount"])},
                {"name": "其他品目", "value": float(fig["amount"] - fig["encouraged_amount"])}]}],
        },
    }


def overview_card(user) -> dict | None:
    """The mall's card on the district home page (None when the user sees no orders)."""
    roles = roles_of(user)
    if not (roles & {Role.PURCHASER, Role.SUPPLIER, Role.DISTRICT_ADMIN, Role.SUPERVISOR, Role.DEPARTMENT_OFFICER,
                     Role.STREET_OFFICER}) and not user.is_superuser:
        return None
    fig = figures(user)
    if not fig["orders"] and fig["flags_open"] is None:
        return None
    items = [("订单数", f"{fig['orders']:,}"), ("成交金额（元）", f"{fig['amount']:,.2f}"),
             ("议价节约（元）", f"{fig['savings']:,.2f}"), ("鼓励品目占比", f"{fig['encouraged_share']}%")]
    if fig["flags_open"] is not None:
        items.append(("待核查预警", fig["flags_open"]))
    months = fig["by_month"][-10:]
    return {"title": "政府采购网上商城", "url": reverse("mall:dashboard"), "figures": items,
            "chart": {"tooltip": {"trigger": "axis"},
                      "xAxis": {"type": "category", "data": [r["month"].strftime("%Y-%m") for r in months]},
                      "yAxis": {"type": "value"},
                      "series": [{"type": "bar", "name": "成交金额（元）", "data": [float(r["amount"]) for r in months]}]}}

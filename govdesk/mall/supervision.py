"""Online supervision (在线监管): the rules that flag orders for supervisors.

Every rule is a set-based query over orders — the window rules (split, clustered just
under the limit, frequent) are one statement of window functions over the orders sorted
by unit, category and day (``window_rows``), the others plain aggregates — and the same
queries serve an order as it is placed (``targets`` = the new orders) and the periodic
sweep (``targets`` = all orders of a district). Each finding carries an explainable Chinese message and the
parameters it was judged by; its ``key`` makes a re-run harmless.

Windows are counted in days on ``Order.day`` (the local date's ordinal): the
window of an order is the W consecutive days ending on its date, so orders 30 days
apart do not share a 30-day window, orders 29 days apart do.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Sum,
)
from django.utils import timezone

from govdesk.core.audit import Entry, audit_many
from govdesk.core.models import AuditEvent, OrgUnit

from .models import Flag, MallPolicy, Order, OrderLine, pct

CANCELLED = Order.Status.CANCELLED
MONEY_FIELD = DecimalField(max_digits=20, decimal_places=2)


def _y(value) -> str:
    return f"{Decimal(value):,.2f}"


def _m(value) -> str:
    """Money in params: aggregates come back unquantized from some backends."""
    return str(Decimal(value).quantize(Decimal("0.01")))


LOOKUP = ("pk", "org_unit_id", "org_unit__name", "supplier_id", "category_id", "category__name", "placed_on", "total")


def window_rows(targets, policy: MallPolicy, *, whole: bool = False) -> list[dict]:
    """One pass of window functions over the live orders per (unit, category), ordered by
    day then id, answering for every target order what the window rules need: in its split
    window (the W days ending on its date, same-day orders up to itself) the number, sum and
    first day of the orders, how many were at or over the limit, and the same for the orders
    just under the limit; and the number of orders in its frequency window.

    Each "in the window" figure is a running total minus the running total of the last order
    W or more days earlier (``MAX(...) OVER (RANGE ... W PRECEDING)``: running totals only
    grow). Money is summed in fen as integers, so "exactly the limit" is exact on SQLite too.
    Only orders whose (unit, category) and dates can matter are read: for an order being
    placed that is its own unit and category over the last W days; with ``whole`` (the sweep of
    a whole district) the targets are all there is, and are read once."""
    w, f = int(policy.split_window_days), int(policy.frequent_days)
    band = int((Decimal(10000) - Decimal(policy.cluster_pct) * 100).to_integral_value())  # in 1/10000 of the limit
    if whole:
        scope = targets.exclude(status=CANCELLED)
    else:
        first = targets.order_by().aggregate(d=Min("day"))["d"]
        if first is None:
            return []
        scope = (Order.objects.exclude(status=CANCELLED)
                 .filter(org_unit_id__in=targets.values("org_unit_id"), category_id__in=targets.values("category_id"),
                         day__gt=first - max(w, f)))
    base = (scope
            .annotate(oid=F("id"), u=F("org_unit_id"), c=F("category_id"), d=F("day"), amt=F("total"),
                      lim=F("category__single_limit"))
            .values("oid", "u", "c", "d", "amt", "lim"))
    base_sql, base_params = base.query.sql_with_params()
    wanted, wanted_params = "", []
    if not whole:
        wanted_sql, wanted_params = targets.exclude(status=CANCELLED).values("id").query.sql_with_params()
        wanted = f"oid IN ({wanted_sql}) AND"
    sql = f"""
    WITH base AS ({base_sql}),
    fen AS (
        SELECT oid, u, c, d, CAST(ROUND(amt * 100) AS BIGINT) AS amt, CAST(ROUND(lim * 100) AS BIGINT) AS lim
        FROM base),
    marked AS (
        SELECT fen.*, CASE WHEN amt >= lim THEN 1 ELSE 0 END AS big,
               CASE WHEN amt < lim AND amt * 10000 >= lim * {band} THEN 1 ELSE 0 END AS near
        FROM fen),
    running AS (
        SELECT marked.*,
               SUM(amt) OVER p AS r_sum, COUNT(*) OVER p AS r_n, SUM(big) OVER p AS r_big,
               SUM(near) OVER p AS r_near, SUM(near * amt) OVER p AS r_near_sum,
               MIN(d) OVER (PARTITION BY u, c ORDER BY d RANGE BETWEEN {w - 1} PRECEDING AND CURRENT ROW) AS w_first,
               MIN(CASE WHEN near = 1 THEN d END)
                   OVER (PARTITION BY u, c ORDER BY d RANGE BETWEEN {w - 1} PRECEDING AND CURRENT ROW) AS near_first
        FROM marked
        WINDOW p AS (PARTITION BY u, c ORDER BY d, oid ROWS UNBOUNDED PRECEDING)),
    windowed AS (
        SELECT oid, amt, lim, near, w_first, near_first,
               r_sum - COALESCE(MAX(r_sum) OVER pw, 0) AS w_sum,
               r_n - COALESCE(MAX(r_n) OVER pw, 0) AS w_n,
               r_big - COALESCE(MAX(r_big) OVER pw, 0) AS w_big,
               r_near - COALESCE(MAX(r_near) OVER pw, 0) AS near_n,
               r_near_sum - COALESCE(MAX(r_near_sum) OVER pw, 0) AS near_sum,
               r_n - COALESCE(MAX(r_n) OVER pf, 0) AS f_n
        FROM running
        WINDOW pw AS (PARTITION BY u, c ORDER BY d RANGE BETWEEN UNBOUNDED PRECEDING AND {w} PRECEDING),
               pf AS (PARTITION BY u, c ORDER BY d RANGE BETWEEN UNBOUNDED PRECEDING AND {f} PRECEDING))
    SELECT oid, w_sum, w_n, w_first, near_n, near_sum, near_first, f_n, lim,
           CASE WHEN w_n >= 2 AND w_big = 0 AND w_sum > lim AND w_sum <= lim + amt THEN 1 ELSE 0 END AS split,
           CASE WHEN near = 1 AND near_n = %s THEN 1 ELSE 0 END AS cluster,
           CASE WHEN f_n = %s THEN 1 ELSE 0 END AS frequent
    FROM windowed
    WHERE {wanted} ((w_n >= 2 AND w_big = 0 AND w_sum > lim AND w_sum <= lim + amt) OR (near = 1 AND near_n = %s)
           OR f_n = %s)
    """
    n_cluster, n_frequent = int(policy.cluster_count), int(policy.frequent_count) + 1
    with connection.cursor() as cursor:
        cursor.execute(sql, [*base_params, n_cluster, n_frequent, *wanted_params, n_cluster, n_frequent])
        columns = [col[0] for col in cursor.description]
        hits = {row[0]: dict(zip(columns, row, strict=True)) for row in cursor.fetchall()}
    if not hits:
        return []
    described = {r["pk"]: r for r in Order.objects.filter(pk__in=list(hits)).values(*LOOKUP)}
    rows = []
    for pk, hit in sorted(hits.items()):
        row = {**described[pk], **hit, "limit": Decimal(hit["lim"]) / 100}
        for key in ("w_first", "near_first"):
            row[key] = date.fromordinal(int(hit[key])) if hit[key] is not None else None
        for key in ("w_sum", "near_sum"):
            row[key] = Decimal(int(hit[key] or 0)) / 100
        rows.append(row)
    return rows


def split_findings(rows: list[dict], policy: MallPolicy) -> list[Flag]:
    """Same unit, same category, within the window: orders each under the single-purchase
    limit whose sum exceeds it. Flagged on the order that takes the window over the limit."""
    w = policy.split_window_days
    flags = []
    for r in (r for r in rows if r["split"]):
        near = r["w_sum"] / r["w_n"] >= r["limit"] * Decimal("0.8")
        message = (f"{r['org_unit__name']}在 {w} 天内（{r['w_first']} 至 {r['placed_on']}）于品目「{r['category__name']}」"
                   f"下单 {r['w_n']} 笔，合计 {_y(r['w_sum'])} 元，超过单次采购限额 {_y(r['limit'])} 元，"
                   f"而每笔均低于限额，疑似拆分采购以规避限额"
                   + ("；平均每笔贴近限额" if near else ""))
        flags.append(Flag(key=f"split:{r['pk']}", rule=Flag.Rule.SPLIT, org_unit_id=r["org_unit_id"],
                          supplier_id=r["supplier_id"], category_id=r["category_id"], order_id=r["pk"],
                          amount=r["w_sum"], message=message,
                          params={"window_days": w, "limit": _m(r["limit"]), "orders": r["w_n"],
                                  "sum": _m(r["w_sum"]), "first_day": str(r["w_first"]),
                                  "last_day": str(r["placed_on"])}))
    return flags


def cluster_findings(rows: list[dict], policy: MallPolicy) -> list[Flag]:
    """The split-purchase variant: at least N orders of one unit in one category within the
    split window, each just under the single-purchase limit (at or above limit x (1 - X%),
    below the limit). Flagged on the order that makes the N-th, whether or not the sum is
    also over the limit (that is the split rule's own flag)."""
    w, n, x = policy.split_window_days, policy.cluster_count, policy.cluster_pct
    flags = []
    for r in (r for r in rows if r["cluster"]):
        low = (r["limit"] * (1 - Decimal(x) / 100)).quantize(Decimal("0.01"))
        flags.append(Flag(
            key=f"cluster:{r['pk']}", rule=Flag.Rule.CLUSTER, org_unit_id=r["org_unit_id"],
            supplier_id=r["supplier_id"], category_id=r["category_id"], order_id=r["pk"], amount=r["near_sum"],
            message=(f"{r['org_unit__name']}在 {w} 天内（{r['near_first']} 至 {r['placed_on']}）于品目"
                     f"「{r['category__name']}」有 {r['near_n']} 笔订单金额均在 {_y(low)} 至 {_y(r['limit'])} 元之间，"
                     f"即贴近单次采购限额（{pct(x)}% 以内），合计 {_y(r['near_sum'])} 元，疑似拆分采购"),
            params={"window_days": w, "limit": _m(r["limit"]), "within_pct": pct(x), "min_orders": n,
                    "orders": r["near_n"], "sum": _m(r["near_sum"]), "first_day": str(r["near_first"]),
                    "last_day": str(r["placed_on"])}))
    return flags


def frequent_findings(rows: list[dict], policy: MallPolicy) -> list[Flag]:
    """More than N orders of one unit in one category within F days; flagged on the
    order that goes over N."""
    f, n = policy.frequent_days, policy.frequent_count
    return [Flag(key=f"frequent:{r['pk']}", rule=Flag.Rule.FREQUENT, org_unit_id=r["org_unit_id"],
                 supplier_id=r["supplier_id"], category_id=r["category_id"], order_id=r["pk"],
                 amount=r["total"],
                 message=(f"{r['org_unit__name']}截至 {r['placed_on']} 的 {f} 天内在品目「{r['category__name']}」"
                          f"已下单 {n + 1} 笔，超过 {n} 笔的频次上限"),
                 params={"window_days": f, "max_orders": n, "orders": n + 1})
            for r in rows if r["frequent"]]


def price_findings(targets, policy: MallPolicy) -> list[Flag]:
    """A line's price (agreed, or list when not negotiated) above the product's reference
    price by more than X%; one flag per order, naming its worst line."""
    factor = 1 + policy.price_flag_pct / 100
    ceiling = ExpressionWrapper(F("quantity") * F("product__reference_price") * factor, output_field=MONEY_FIELD)
    lines = (OrderLine.objects.filter(order__in=targets.exclude(status=CANCELLED).values("pk"))
             .filter(product__reference_price__isnull=False)
             .annotate(ceiling=ceiling).filter(amount__gt=F("ceiling"))
             .values("order_id", "order__org_unit_id", "order__org_unit__name", "order__supplier_id",
                     "order__supplier__name", "order__category_id", "product__name", "product__reference_price",
                     "product__reference_source", "product__reference_date", "quantity", "amount")
             .order_by("order_id"))
    worst: dict[int, dict] = {}
    for r in lines:
        unit_price = Decimal(r["amount"]) / r["quantity"]
        r["over"] = (unit_price - r["product__reference_price"]) * 100 / r["product__reference_price"]
        r["unit_price"] = unit_price.quantize(Decimal("0.01"))
        if r["order_id"] not in worst or r["over"] > worst[r["order_id"]]["over"]:
            worst[r["order_id"]] = r
    return [Flag(key=f"price:{oid}", rule=Flag.Rule.PRICE, org_unit_id=r["order__org_unit_id"],
                 supplier_id=r["order__supplier_id"], category_id=r["order__category_id"], order_id=oid,
                 amount=r["amount"],
                 message=(f"{r['order__org_unit__name']}向{r['order__supplier__name']}采购「{r['product__name']}」"
                          f"单价 {_y(r['unit_price'])} 元，高于市场参考价 {_y(r['product__reference_price'])} 元"
                          f"（{r['product__reference_source'] or '未注明来源'}，{r['product__reference_date']}）"
                          f"{r['over']:.1f}%，超过 {pct(policy.price_flag_pct)}% 的预警线"),
                 params={"threshold_pct": pct(policy.price_flag_pct), "unit_price": _m(r["unit_price"]),
                         "reference": _m(r["product__reference_price"]), "over_pct": f"{r['over']:.1f}"})
            for oid, r in worst.items()]


def outside_findings(targets, policy: MallPolicy) -> list[Flag]:
    rows = (targets.exclude(status=CANCELLED).filter(category__is_mall=False)
            .values("pk", "org_unit_id", "org_unit__name", "supplier_id", "category_id", "category__code",
                    "category__name", "total"))
    return [Flag(key=f"outside:{r['pk']}", rule=Flag.Rule.OUTSIDE, org_unit_id=r["org_unit_id"],
                 supplier_id=r["supplier_id"], category_id=r["category_id"], order_id=r["pk"], amount=r["total"],
                 message=(f"{r['org_unit__name']}采购的品目「{r['category__code']} {r['category__name']}」"
                          f"不属于商城品目，金额 {_y(r['total'])} 元"),
                 params={"category": r["category__code"]})
            for r in rows]


def share_findings(targets, policy: MallPolicy, *, years, whole: bool = False) -> list[Flag]:
    """One supplier taking more than Y% of a unit's spending in a year (units that spent
    at least the policy's minimum). ``targets`` picks the (unit, supplier, year) groups to
    judge. Per year one GROUP BY (unit, supplier) over the live orders of the targets' units;
    the units' totals are the sums of their groups."""
    share_pct, minimum = policy.share_pct, policy.share_min_total
    wanted, groups = set(), []
    for year in years:  # date ranges, not EXTRACT: SQLite computes that in Python row by row
        span = {"placed_on__gte": date(year, 1, 1), "placed_on__lte": date(year, 12, 31)}
        if whole:  # every order of the district is a target: every group is wanted
            live = targets.exclude(status=CANCELLED).filter(**span)
        else:
            pairs = set(targets.filter(**span).order_by().values_list("org_unit_id", "supplier_id").distinct())
            if not pairs:
                continue
            wanted |= {(year, u, s) for u, s in pairs}
            live = Order.objects.exclude(status=CANCELLED).filter(org_unit_id__in={u for u, _s in pairs}, **span)
        year_groups = [{**g, "y": year} for g in live.values("org_unit_id", "supplier_id")
                       .annotate(s=Sum("total"), n=Count("id")).order_by()]
        if whole:
            wanted |= {(year, g["org_unit_id"], g["supplier_id"]) for g in year_groups}
        groups += year_groups
    unit_totals: dict[tuple, Decimal] = {}
    for g in groups:
        key = (g["y"], g["org_unit_id"])
        unit_totals[key] = unit_totals.get(key, Decimal(0)) + Decimal(g["s"])
    found = []
    for g in groups:
        unit_total = unit_totals[(g["y"], g["org_unit_id"])]
        if (g["y"], g["org_unit_id"], g["supplier_id"]) not in wanted or unit_total < minimum:
            continue
        if Decimal(g["s"]) * 100 > unit_total * share_pct:
            found.append((g, unit_total))
    if not found:
        return []
    names = dict(OrgUnit.objects.filter(pk__in={g["org_unit_id"] for g, _t in found}
                                        | {g["supplier_id"] for g, _t in found}).values_list("pk", "name"))
    flags = []
    for g, unit_total in found:
        year, supplier_total = g["y"], Decimal(g["s"])
        share = supplier_total * 100 / unit_total
        flags.append(Flag(
            key=f"share:{g['org_unit_id']}:{g['supplier_id']}:{year}", rule=Flag.Rule.SHARE,
            org_unit_id=g["org_unit_id"], supplier_id=g["supplier_id"], amount=_m(supplier_total),
            message=(f"{names[g['org_unit_id']]}{year} 年在商城采购 {_y(unit_total)} 元，其中{names[g['supplier_id']]}"
                     f"占 {_y(supplier_total)} 元（{share:.1f}%，{g['n']} 笔），超过 {pct(share_pct)}% 的集中度预警线"),
            params={"year": year, "threshold_pct": pct(share_pct), "share_pct": f"{share:.1f}",
                    "unit_total": _m(unit_total), "supplier_total": _m(supplier_total),
                    "min_total": _m(minimum)}))
    return flags


def check(targets, policy: MallPolicy, *, today: date, sweep: bool = False, whole: bool = False) -> list[Flag]:
    """All findings about ``targets`` (a queryset of orders); ``whole`` when the targets are
    every order of the district (the sweep without ``since``)."""
    if sweep:
        span = targets.order_by().aggregate(first=Min("placed_on"), last=Max("placed_on"))
        years = list(range(span["first"].year, span["last"].year + 1)) if span["first"] else []
    else:
        years = [today.year]
    rows = window_rows(targets, policy, whole=whole)
    return [*split_findings(rows, policy), *cluster_findings(rows, policy), *price_findings(targets, policy),
            *outside_findings(targets, policy), *share_findings(targets, policy, years=years, whole=whole),
            *frequent_findings(rows, policy)]


def raise_flags(findings: list[Flag]) -> list[Flag]:
    """Save the findings not flagged before (by key), each audited once."""
    if not findings:
        return []
    unique = {f.key: f for f in findings}
    known = set(Flag.objects.filter(key__in=list(unique)).values_list("key", flat=True))
    new = [f for key, f in unique.items() if key not in known]
    if not new:
        return []
    now = timezone.now()
    for flag in new:
        flag.raised_at = now
    Flag.objects.bulk_create(new, batch_size=500)
    created = {f.key: f for f in Flag.objects.filter(key__in=[f.key for f in new]).select_related("org_unit")}
    audit_many(actor=None, entries=[
        Entry(action=AuditEvent.Action.CREATE, unit=f.org_unit, obj=f, verb=f"flag_{f.rule}",
              changes={"rule": f.rule, "order": f.order_id, "params": f.params})
        for f in created.values()])
    return list(created.values())

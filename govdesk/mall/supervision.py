"""Online supervision (在线监管): the rules that flag orders for supervisors.

Every rule reads the orders as a set — the window rules (split, clustered just under the
limit, frequent) one read of the orders sorted by unit, category and day and one pass over
it with moving window starts (``window_rows``), the others plain aggregates — and the same
code serves an order as it is placed (``targets`` = the new orders) and the periodic sweep
(``targets`` = all orders of a district). Each finding carries an explainable Chinese message
and the parameters it was judged by; its ``key`` makes a re-run harmless.

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

from .models import Flag, MallPolicy, Order, pct
from .rollups import month_and_year

CANCELLED = Order.Status.CANCELLED
MONEY_FIELD = DecimalField(max_digits=20, decimal_places=2)


def _y(value) -> str:
    return f"{Decimal(value):,.2f}"


def _m(value) -> str:
    """Money in params: aggregates come back unquantized from some backends."""
    return str(Decimal(value).quantize(Decimal("0.01")))


LOOKUP = ("pk", "org_unit_id", "org_unit__name", "supplier_id", "category_id", "category__name", "placed_on", "total")


def window_rows(targets, policy: MallPolicy, *, whole: bool = False) -> list[dict]:
    """The target orders a window rule flags, with the figures their messages need, from one
    read of the live orders sorted by unit, category, day and id and one pass over it: in an
    order's split window (the W days ending on its date, same-day orders up to itself) the
    number, sum and first day of the orders, how many were at or over the limit, and the same
    for the orders just under the limit; and the number of orders in its frequency window.

    Within one (unit, category) each order's window starts where the previous one's did or
    later, so two moving starts over running totals answer every order in amortised constant
    time — what window functions do, without the database evaluating a frame per figure (the
    statement of window functions this replaced cost more than reading the rows:
    bench/README.md). Money is in fen as integers, so "exactly the limit" is exact. Only
    orders whose (unit, category) and dates can matter are read: for an order being placed,
    its own unit and category over the last W days; with ``whole`` (the sweep of a whole
    district) the targets are all there is, and are read once."""
    w, f = int(policy.split_window_days), int(policy.frequent_days)
    band = int((Decimal(10000) - Decimal(policy.cluster_pct) * 100).to_integral_value())  # in 1/10000 of the limit
    n_cluster, n_frequent = int(policy.cluster_count), int(policy.frequent_count) + 1
    wanted = None
    if whole:
        scope = targets.exclude(status=CANCELLED)
    else:
        days = dict(targets.exclude(status=CANCELLED).values_list("id", "day"))
        if not days:
            return []
        wanted, first = set(days), min(days.values())
        scope = (Order.objects.exclude(status=CANCELLED)
                 .filter(org_unit_id__in=targets.values("org_unit_id"), category_id__in=targets.values("category_id"),
                         day__gt=first - max(w, f)))
    base = (scope
            .annotate(oid=F("id"), u=F("org_unit_id"), c=F("category_id"), d=F("day"), amt=F("total"),
                      lim=F("category__single_limit"))
            .values("oid", "u", "c", "d", "amt", "lim"))
    base_sql, base_params = base.query.sql_with_params()
    sql = (f"SELECT oid, u, c, d, CAST(ROUND(amt * 100) AS BIGINT), CAST(ROUND(lim * 100) AS BIGINT) "
           f"FROM ({base_sql}) base ORDER BY u, c, d, oid")
    hits: dict[int, dict] = {}

    def judge(group: list[tuple]) -> None:
        """One (unit, category): its orders as (id, day, fen, limit in fen), by day and id."""
        total = big = near = near_total = 0
        sums, bigs, nears, near_sums = [0], [0], [0], [0]  # running totals before each order
        is_near = []
        for _oid, _d, amt, lim in group:
            close = amt < lim and amt * 10000 >= lim * band
            total, big = total + amt, big + (amt >= lim)
            near, near_total = near + close, near_total + (amt if close else 0)
            sums.append(total), bigs.append(big), nears.append(near), near_sums.append(near_total)
            is_near.append(close)
        start = f_start = 0  # the first order of the split window, of the frequency window
        for i, (oid, d, amt, lim) in enumerate(group):
            while group[start][1] <= d - w:
                start += 1
            while group[f_start][1] <= d - f:
                f_start += 1
            w_n, w_sum, near_n = i - start + 1, sums[i + 1] - sums[start], nears[i + 1] - nears[start]
            split = w_n >= 2 and bigs[i + 1] == bigs[start] and lim < w_sum <= lim + amt
            cluster = is_near[i] and near_n == n_cluster
            frequent = i - f_start + 1 == n_frequent
            if not (split or cluster or frequent) or (wanted is not None and oid not in wanted):
                continue
            near_first = next(group[j][1] for j in range(start, i + 1) if is_near[j]) if near_n else None
            hits[oid] = {"w_sum": w_sum, "w_n": w_n, "w_first": group[start][1], "near_n": near_n,
                         "near_sum": near_sums[i + 1] - near_sums[start], "near_first": near_first,
                         "f_n": i - f_start + 1, "lim": lim, "split": int(split), "cluster": int(cluster),
                         "frequent": int(frequent)}

    with connection.cursor() as cursor:
        cursor.execute(sql, base_params)
        group, key = [], None
        while batch := cursor.fetchmany(10_000):
            for oid, u, c, d, amt, lim in batch:
                if (u, c) != key:
                    if group:
                        judge(group)
                    group, key = [], (u, c)
                group.append((oid, d, amt, lim))
        if group:
            judge(group)
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
    """A line's price (agreed, or list when not negotiated) above the market reference in force
    when the order was placed (``OrderLine.reference``) by more than X%; one flag per order,
    naming its worst line. A reference recorded later judges later orders only."""
    factor = 1 + policy.price_flag_pct / 100
    # From the orders to their lines in one filter() (one join of the lines: the ceiling and the
    # amount are the same line's), so the targets' own conditions stay on the orders' scan.
    ceiling = ExpressionWrapper(F("lines__quantity") * F("lines__reference__price") * factor,
                                output_field=MONEY_FIELD)
    lines = (targets.exclude(status=CANCELLED)
             .filter(lines__reference__isnull=False, lines__amount__gt=ceiling)
             .values("pk", "org_unit_id", "org_unit__name", "supplier_id", "supplier__name", "category_id",
                     line_product=F("lines__product__name"), line_reference=F("lines__reference__price"),
                     line_source=F("lines__reference__source"), line_reference_date=F("lines__reference__observed_on"),
                     line_quantity=F("lines__quantity"), line_amount=F("lines__amount"))
             .order_by("pk"))
    worst: dict[int, dict] = {}
    for r in lines:
        unit_price = Decimal(r["line_amount"]) / r["line_quantity"]
        r["over"] = (unit_price - r["line_reference"]) * 100 / r["line_reference"]
        r["unit_price"] = unit_price.quantize(Decimal("0.01"))
        if r["pk"] not in worst or r["over"] > worst[r["pk"]]["over"]:
            worst[r["pk"]] = r
    return [Flag(key=f"price:{oid}", rule=Flag.Rule.PRICE, org_unit_id=r["org_unit_id"],
                 supplier_id=r["supplier_id"], category_id=r["category_id"], order_id=oid, amount=r["line_amount"],
                 message=(f"{r['org_unit__name']}向{r['supplier__name']}采购「{r['line_product']}」"
                          f"单价 {_y(r['unit_price'])} 元，高于市场参考价 {_y(r['line_reference'])} 元"
                          f"（{r['line_source'] or '未注明来源'}，{r['line_reference_date']}）"
                          f"{r['over']:.1f}%，超过 {pct(policy.price_flag_pct)}% 的预警线"),
                 params={"threshold_pct": pct(policy.price_flag_pct), "unit_price": _m(r["unit_price"]),
                         "reference": _m(r["line_reference"]), "over_pct": f"{r['over']:.1f}"})
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
    judge. For the sweep of a whole district one GROUP BY (year, unit, supplier) over its live
    orders; otherwise per year one GROUP BY (unit, supplier) over the live orders of the
    targets' units. The units' totals are the sums of their groups."""
    share_pct, minimum = policy.share_pct, policy.share_min_total
    wanted, groups = set(), []
    if whole:  # every order of the district is a target, every group is wanted: one grouped pass
        _month, year_of = month_and_year()  # computed by the database, not row by row in Python
        # grouped on expressions, so the database scans and sorts instead of fetching every
        # order through the unit or the supplier index (SQLite: 2x)
        groups = [{"y": g["y"], "org_unit_id": g["u"], "supplier_id": g["s_id"], "s": g["s"], "n": g["n"]}
                  for g in targets.exclude(status=CANCELLED)
                  .annotate(y=year_of, u=F("org_unit_id") + 0, s_id=F("supplier_id") + 0).values("y", "u", "s_id")
                  .annotate(s=Sum("total"), n=Count("id")).order_by() if g["y"] in years]
        wanted = {(g["y"], g["org_unit_id"], g["supplier_id"]) for g in groups}
    for year in [] if whole else years:  # date ranges: the index on placed_on finds the year's orders
        span = {"placed_on__gte": date(year, 1, 1), "placed_on__lte": date(year, 12, 31)}
        pairs = set(targets.filter(**span).order_by().values_list("org_unit_id", "supplier_id").distinct())
        if not pairs:
            continue
        wanted |= {(year, u, s) for u, s in pairs}
        live = Order.objects.exclude(status=CANCELLED).filter(org_unit_id__in={u for u, _s in pairs}, **span)
        groups += [{**g, "y": year} for g in live.values("org_unit_id", "supplier_id")
                   .annotate(s=Sum("total"), n=Count("id")).order_by()]
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

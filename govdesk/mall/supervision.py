"""Online supervision (在线监管): the rules that flag orders for supervisors.

Every rule is a set-based query over orders (aggregates and correlated subqueries
the database evaluates in one pass) — the same query serves an order as it is
placed (``targets`` = the new orders) and the periodic sweep (``targets`` = all
orders of a district). Each finding carries an explainable Chinese message and the
parameters it was judged by; its ``key`` makes a re-run harmless.

Windows are counted in days on ``Order.day`` (the local date's ordinal): the
window of an order is the W consecutive days ending on its date, so orders 30 days
apart do not share a 30-day window, orders 29 days apart do.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db.models import (
    Count,
    DateField,
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.utils import timezone

from govdesk.core.audit import Entry, audit_many
from govdesk.core.models import AuditEvent

from .models import Flag, MallPolicy, Order, OrderLine, pct

CANCELLED = Order.Status.CANCELLED
MONEY_FIELD = DecimalField(max_digits=20, decimal_places=2)


def _y(value) -> str:
    return f"{Decimal(value):,.2f}"


def _m(value) -> str:
    """Money in params: aggregates come back unquantized from some backends."""
    return str(Decimal(value).quantize(Decimal("0.01")))


def _window(field_filter: dict, window_days: int, aggregate, output):
    """Correlated subquery: ``aggregate`` over the live orders of the same unit (and
    ``field_filter``) in the window of ``window_days`` days ending at the outer order
    (ties on the same day broken by id, so each order sees only those before it)."""
    inner = (Order.objects.exclude(status=CANCELLED)
             .filter(org_unit=OuterRef("org_unit"), **field_filter)
             .filter(day__gt=OuterRef("day") - window_days)
             .filter(Q(day__lt=OuterRef("day")) | Q(day=OuterRef("day"), pk__lte=OuterRef("pk")))
             .order_by().values("org_unit").annotate(v=aggregate).values("v"))
    return Subquery(inner, output_field=output)


def split_findings(targets, policy: MallPolicy) -> list[Flag]:
    """Same unit, same category, within the window: orders each under the single-purchase
    limit whose sum exceeds it. Flagged on the order that takes the window over the limit."""
    w = policy.split_window_days
    same = {"category": OuterRef("category")}
    rows = (targets.exclude(status=CANCELLED)
            .annotate(w_sum=_window(same, w, Sum("total"), MONEY_FIELD),
                      w_n=_window(same, w, Count("id"), IntegerField()),
                      w_max=_window(same, w, Max("total"), MONEY_FIELD),
                      w_first=_window(same, w, Min("placed_on"), DateField()),
                      limit=F("category__single_limit"))
            .filter(w_n__gte=2, w_sum__gt=F("limit"), w_max__lt=F("limit"))
            .filter(w_sum__lte=F("limit") + F("total"))
            .values("pk", "org_unit_id", "org_unit__name", "supplier_id", "category_id", "category__name",
                    "placed_on", "total", "w_sum", "w_n", "w_first", "limit"))
    flags = []
    for r in rows:
        near = Decimal(r["w_sum"]) / r["w_n"] >= Decimal(r["limit"]) * Decimal("0.8")
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


def frequent_findings(targets, policy: MallPolicy) -> list[Flag]:
    """More than N orders of one unit in one category within F days; flagged on the
    order that goes over N."""
    f, n = policy.frequent_days, policy.frequent_count
    rows = (targets.exclude(status=CANCELLED)
            .annotate(w_n=_window({"category": OuterRef("category")}, f, Count("id"), IntegerField()))
            .filter(w_n=n + 1)
            .values("pk", "org_unit_id", "org_unit__name", "supplier_id", "category_id", "category__name",
                    "placed_on", "total"))
    return [Flag(key=f"frequent:{r['pk']}", rule=Flag.Rule.FREQUENT, org_unit_id=r["org_unit_id"],
                 supplier_id=r["supplier_id"], category_id=r["category_id"], order_id=r["pk"], amount=r["total"],
                 message=(f"{r['org_unit__name']}截至 {r['placed_on']} 的 {f} 天内在品目「{r['category__name']}」"
                          f"已下单 {n + 1} 笔，超过 {n} 笔的频次上限"),
                 params={"window_days": f, "max_orders": n, "orders": n + 1})
            for r in rows]


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


def share_findings(targets, policy: MallPolicy, *, years) -> list[Flag]:
    """One supplier taking more than Y% of a unit's spending in a year (units that spent
    at least the policy's minimum). ``targets`` picks the (unit, supplier) pairs to judge.
    Two GROUP BY queries per year — per unit and per (unit, supplier) — compared group by group."""
    flags = []
    share_pct, minimum = policy.share_pct, policy.share_min_total
    for year in years:
        live = Order.objects.exclude(status=CANCELLED).filter(placed_on__year=year)
        units = targets.filter(placed_on__year=year).values("org_unit_id")
        wanted = set(targets.filter(placed_on__year=year).values_list("org_unit_id", "supplier_id").distinct())
        unit_totals = dict(live.filter(org_unit_id__in=units).values("org_unit_id").annotate(t=Sum("total"))
                           .filter(t__gte=minimum).values_list("org_unit_id", "t"))
        if not unit_totals:
            continue
        rows = (live.filter(org_unit_id__in=list(unit_totals))
                .values("org_unit_id", "org_unit__name", "supplier_id", "supplier__name")
                .annotate(s=Sum("total"), n=Count("id")).order_by())
        for r in rows:
            unit_total = Decimal(unit_totals[r["org_unit_id"]])
            if (r["org_unit_id"], r["supplier_id"]) not in wanted or Decimal(r["s"]) * 100 <= unit_total * share_pct:
                continue
            share = Decimal(r["s"]) * 100 / unit_total
            flags.append(Flag(
                key=f"share:{r['org_unit_id']}:{r['supplier_id']}:{year}", rule=Flag.Rule.SHARE,
                org_unit_id=r["org_unit_id"], supplier_id=r["supplier_id"], amount=r["s"],
                message=(f"{r['org_unit__name']}{year} 年在商城采购 {_y(unit_total)} 元，其中{r['supplier__name']}"
                         f"占 {_y(r['s'])} 元（{share:.1f}%，{r['n']} 笔），超过 {pct(share_pct)}% 的集中度预警线"),
                params={"year": year, "threshold_pct": pct(share_pct), "share_pct": f"{share:.1f}",
                        "unit_total": _m(unit_total), "supplier_total": _m(r["s"]),
                        "min_total": _m(minimum)}))
    return flags


def check(targets, policy: MallPolicy, *, today: date, sweep: bool = False) -> list[Flag]:
    """All findings about ``targets`` (a queryset of orders)."""
    years = sorted(set(targets.order_by().values_list("placed_on__year", flat=True).distinct())) if sweep \
        else [today.year]
    return [*split_findings(targets, policy), *price_findings(targets, policy), *outside_findings(targets, policy),
            *share_findings(targets, policy, years=years), *frequent_findings(targets, policy)]


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

"""Mall pages. Thin: parse, call a service or a scoped query, render."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from govdesk.core import files
from govdesk.core.errors import Forbidden, NotInReach, ServiceError
from govdesk.core.listing import keyset_page
from govdesk.core.models import OrgUnit
from govdesk.core.reach import CHANGE, VIEW, Role, get_in_reach, paths_for, require_somewhere, roles_of
from govdesk.core.views import fail
from govdesk.core.views_tables import export_page

from . import queries, services
from .forms import (
    AdmissionApplyForm,
    AdmissionDecideForm,
    BudgetForm,
    CategoryForm,
    FlagReviewForm,
    OfferForm,
    PolicyForm,
    ProductForm,
    ReferencePriceForm,
    SanctionForm,
)
from .models import (
    APPROVERS,
    Admission,
    AdmissionDocument,
    ApprovalRule,
    Bid,
    CartLine,
    Category,
    Flag,
    Negotiation,
    Offer,
    Order,
    Product,
    SanctionDocument,
    UnitBudget,
)


def _render(request, template, context, partial="results"):
    if request.htmx:
        return render(request, f"{template}#{partial}", context)
    return render(request, template, context)


def _supplier_units(user):
    """The enterprises the user acts for as a supplier."""
    return OrgUnit.objects.restrict(user, VIEW).filter(kind=OrgUnit.Kind.ENTERPRISE, memberships__user=user,
                                                       memberships__role=Role.SUPPLIER).distinct()


@login_required
def dashboard(request):
    fig = queries.figures(request.user)
    return render(request, "mall/dashboard.html", {"fig": fig, "charts": queries.charts(fig),
                                                   "roles": roles_of(request.user)})


# --- catalogue -----------------------------------------------------------------------------------

@login_required
def catalogue(request):
    g = request.GET
    qs = queries.catalogue_search(request.user, q=g.get("q", ""), category=g.get("category", ""),
                                  encouraged=g.get("encouraged", ""), min_price=g.get("min", ""),
                                  max_price=g.get("max", ""))
    page = keyset_page(qs, g, sorts=queries.CATALOGUE_SORTS, default="price", size=30)
    context = {"page": page, "q": g.get("q", ""), "category": g.get("category", ""),
               "encouraged": g.get("encouraged", ""), "min": g.get("min", ""), "max": g.get("max", ""),
               "categories": queries.categories_visible(request.user).order_by("code"),
               "can_buy": Role.PURCHASER in roles_of(request.user)}
    return _render(request, "mall/catalogue.html", context)


@login_required
def categories(request):
    qs = queries.categories_visible(request.user, mall=request.GET.get("mall", ""),
                                    encouraged=request.GET.get("encouraged", ""))
    page = keyset_page(qs, request.GET, sorts={"code": "code", "name": "name"}, default="code", size=100)
    return render(request, "mall/categories.html", {"page": page, "can_edit": Role.DISTRICT_ADMIN in roles_of(request.user)})


@login_required
def category_new(request):
    district_paths = paths_for(request.user, {Role.DISTRICT_ADMIN})
    district = OrgUnit.objects.restrict(request.user, CHANGE).filter(kind=OrgUnit.Kind.DISTRICT).order_by("path").first()
    if district is None or not district_paths:
        raise Forbidden("只有区级管理员可以维护品目")
    form = CategoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            category = services.category_create(actor=request.user, district=district, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已新增品目「{category.name}」")
            return redirect("mall:categories")
    return render(request, "core/form.html", {"form": form, "title": "新增品目", "back": "/mall/categories/"})


@login_required
def product_new(request):
    categories = Category.objects.restrict(request.user, CHANGE).order_by("code")
    require_somewhere(paths_for(request.user, Category.reach.roles_for(CHANGE)), action_label="新增商品")
    form = ProductForm(request.POST or None, categories=categories)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_create(actor=request.user, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已新增商品「{product}」")
            return redirect("mall:product", product.pk)
    return render(request, "core/form.html", {"form": form, "title": "新增商品", "back": "/mall/catalogue/"})


@login_required
def product_detail(request, pk):
    product = get_in_reach(queries.products_visible(request.user), request.user, VIEW, pk=pk)
    form = ReferencePriceForm(request.POST or None)
    can_edit = Product.objects.restrict(request.user, CHANGE).filter(pk=product.pk).exists()
    if request.method == "POST" and form.is_valid():
        try:
            services.reference_price_record(actor=request.user, product=product, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已记录参考价")
            return redirect("mall:product", product.pk)
    offers = Offer.objects.restrict(request.user, VIEW).filter(product=product).select_related("supplier").order_by(
        "list_price")
    return render(request, "mall/product.html", {
        "product": product, "offers": offers, "form": form, "can_edit": can_edit,
        "prices": product.reference_prices.all()[:20], "can_buy": Role.PURCHASER in roles_of(request.user)})


# --- supplier side -------------------------------------------------------------------------------------

@login_required
def offers(request):
    qs = queries.offers_of_supplier(request.user, status=request.GET.get("status", ""))
    page = keyset_page(qs, request.GET, sorts={"updated": "updated_at", "price": "list_price"}, default="-updated")
    return render(request, "mall/offers.html", {"page": page, "status": request.GET.get("status", ""),
                                                "statuses": Offer.Status.choices,
                                                "suppliers": _supplier_units(request.user)})


@login_required
def offer_products(request):
    """新增报价: find any product of the supplier's admitted categories (name, brand, model,
    category, pinyin initials), paged, each with a link that opens the offer form on it."""
    suppliers = _supplier_units(request.user)
    if not suppliers:
        raise Forbidden("只有供应商可以报价")
    q = request.GET.get("q", "").strip()
    qs = queries.products_to_offer(request.user, q=q)
    page = keyset_page(qs, request.GET, sorts={"name": "name", "id": "id"}, default="name", size=30)
    offered = dict(queries.offers_of_supplier(request.user).filter(product__in=[p.pk for p in page.rows])
                   .values_list("product_id", "pk"))
    for product in page.rows:
        product.my_offer = offered.get(product.pk)
    return _render(request, "mall/offer_products.html", {"page": page, "q": q})


@login_required
@require_POST
def offer_withdraw(request, pk):
    offer = get_in_reach(Offer, request.user, CHANGE, pk=pk)
    try:
        services.offer_withdraw(actor=request.user, offer=offer, reason=request.POST.get("reason", ""))
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"「{offer.product}」已下架")
    return redirect("mall:offers")


@login_required
@require_POST
def offer_relist(request, pk):
    offer = get_in_reach(Offer, request.user, CHANGE, pk=pk)
    try:
        offer = services.offer_relist(actor=request.user, offer=offer)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        if offer.status == Offer.Status.LISTED:
            messages.success(request, f"「{offer.product}」已重新上架，挂牌价 {offer.list_price} 元")
        else:
            messages.error(request, f"「{offer.product}」未能上架：{offer.blocked_reason}")
    return redirect("mall:offers")


@login_required
def offer_edit(request, pk=None):
    if pk is not None:
        offer = get_in_reach(Offer, request.user, CHANGE, pk=pk)
        product, supplier = offer.product, offer.supplier
        initial = {"list_price": offer.list_price, "stock": offer.stock}
    else:
        offer = None
        product = get_in_reach(queries.products_visible(request.user), request.user, VIEW,
                               pk=request.GET.get("product") or request.POST.get("product"))
        supplier = _supplier_units(request.user).first()
        if supplier is None:
            raise Forbidden("只有供应商可以报价")
        initial = {}
    form = OfferForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            offer = services.offer_save(actor=request.user, supplier=supplier, product=product,
                                        list_price=form.cleaned_data["list_price"], stock=form.cleaned_data["stock"])
        except ServiceError as e:
            fail(form, e)
        else:
            if offer.status == Offer.Status.LISTED:
                messages.success(request, f"「{product}」已上架，挂牌价 {offer.list_price} 元")
            else:
                messages.error(request, offer.blocked_reason)
            return redirect("mall:offers")
    return render(request, "mall/offer_form.html", {"form": form, "product": product, "offer": offer})


@login_required
def admissions(request):
    qs = queries.admissions_visible(request.user, status=request.GET.get("status", ""))
    page = keyset_page(qs, request.GET, sorts={"applied": "applied_at"}, default="-applied")
    suppliers = _supplier_units(request.user)
    apply_form = AdmissionApplyForm(categories=queries.categories_visible(request.user).order_by("code")) \
        if suppliers else None
    return render(request, "mall/admissions.html", {
        "page": page, "apply_form": apply_form, "decide_form": AdmissionDecideForm(),
        "can_decide": Role.DISTRICT_ADMIN in roles_of(request.user)})


@login_required
@require_POST
def admission_apply(request):
    supplier = _supplier_units(request.user).first()
    form = AdmissionApplyForm(request.POST, categories=queries.categories_visible(request.user))
    if supplier is None or not form.is_valid():
        messages.error(request, "请选择要申请的品目")
        return redirect("mall:admissions")
    try:
        services.admission_apply(actor=request.user, supplier=supplier, uploads=request.FILES.getlist("files"),
                                 **form.cleaned_data)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "准入申请已提交")
    return redirect("mall:admissions")


@login_required
@require_POST
def admission_decide(request, pk):
    admission = get_in_reach(Admission, request.user, VIEW, pk=pk)
    form = AdmissionDecideForm(request.POST)
    if form.is_valid():
        try:
            services.admission_decide(actor=request.user, admission=admission, **form.cleaned_data)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"已更新「{admission.supplier.name}」在「{admission.category.name}」的准入")
    return redirect("mall:admissions")


@login_required
@require_POST
def admission_document_add(request, pk):
    admission = get_in_reach(Admission, request.user, VIEW, pk=pk)
    try:
        services.admission_document_add(actor=request.user, admission=admission, upload=request.FILES.get("file"))
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "材料已上传")
    return redirect("mall:admissions")


FILE_MODELS = {"admission": AdmissionDocument, "sanction": SanctionDocument}


@login_required
def stored_file(request, kind, pk):
    """Serve an admission document or a sanction decision to someone who reaches its record."""
    if kind not in FILE_MODELS:
        raise NotInReach()
    document = get_in_reach(FILE_MODELS[kind], request.user, VIEW, pk=pk)
    path = files.upload_root(services.MALL_FILES) / document.stored_name
    if not path.is_file():
        raise NotInReach()
    return FileResponse(open(path, "rb"), content_type=document.content_type, filename=document.original_name)


@login_required
def sanctions(request):
    """The suppliers' sanctions history; district administrators record new ones."""
    qs = queries.sanctions_visible(request.user)
    page = keyset_page(qs, request.GET, sorts={"decided": "decided_on"}, default="-decided")
    form = None
    if Role.DISTRICT_ADMIN in roles_of(request.user):
        form = SanctionForm(request.POST or None, request.FILES or None,
                            suppliers=OrgUnit.objects.restrict(request.user, CHANGE).filter(kind=OrgUnit.Kind.ENTERPRISE),
                            categories=queries.categories_visible(request.user).order_by("code"))
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.sanction_record(actor=request.user, supplier=data["supplier"], kind=data["kind"],
                                         reason=data["reason"], category=data["category"],
                                         decided_on=data["decided_on"], upload=data["file"])
            except ServiceError as e:
                fail(form, e)
            else:
                messages.success(request, "处罚记录已保存")
                return redirect("mall:sanctions")
    return render(request, "mall/sanctions.html", {"page": page, "form": form})


# --- cart and orders -------------------------------------------------------------------------------------

@login_required
@require_POST
def cart_add(request, pk):
    offer = get_in_reach(Offer, request.user, VIEW, pk=pk)
    try:
        services.cart_add(actor=request.user, offer=offer, quantity=int(request.POST.get("quantity") or 1))
    except (ServiceError, ValueError) as e:
        messages.error(request, getattr(e, "message", "数量格式不正确"))
    else:
        messages.success(request, f"已将「{offer.product}」加入购物车")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return redirect(target)
    return redirect("mall:cart")


@login_required
def cart(request):
    units = OrgUnit.objects.filter(memberships__user=request.user, memberships__role=Role.PURCHASER).distinct()
    return render(request, "mall/cart.html", {"groups": queries.cart_groups(request.user), "units": units})


@login_required
@require_POST
def cart_line(request, pk):
    line = get_in_reach(CartLine, request.user, CHANGE, pk=pk)
    try:
        services.cart_set_quantity(actor=request.user, line=line, quantity=int(request.POST.get("quantity") or 0))
    except (ServiceError, ValueError) as e:
        messages.error(request, getattr(e, "message", "数量格式不正确"))
    return redirect("mall:cart")


@login_required
@require_POST
def order_place(request):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=request.POST.get("unit"))
    try:
        orders, warnings = services.order_place(actor=request.user, unit=unit)
    except ServiceError as e:
        messages.error(request, e.message)
        return redirect("mall:cart")
    for text in warnings:
        messages.warning(request, text)
    messages.success(request, f"已下单 {len(orders)} 笔：" + "、".join(o.number for o in orders))
    return redirect("mall:order", orders[0].pk) if len(orders) == 1 else redirect("mall:orders")


def _filters(params, names) -> dict:
    return {name: (params.get(name) or "").strip() for name in names}


@login_required
def orders(request):
    filters = _filters(request.GET, queries.ORDER_FILTERS)
    qs = queries.orders_filtered(request.user, filters)
    page = keyset_page(qs, request.GET, sorts=queries.ORDER_SORTS, default="-placed")
    return _render(request, "mall/orders.html", {
        "page": page, "filters": filters, "statuses": Order.Status.choices,
        "units": queries.filter_units(request.user), "categories": queries.categories_visible(request.user).order_by("code"),
        "export_query": urlencode({k: v for k, v in filters.items() if v})})


@login_required
def orders_export(request):
    """The order list's rows (its filters, the user's reach) as an xlsx."""
    return export_page(request, "mall-orders", _filters(request.GET, queries.ORDER_FILTERS))


@login_required
def order_detail(request, pk):
    order = get_in_reach(queries.orders_visible(request.user), request.user, VIEW, pk=pk)
    sides = services.sides_of(request.user, order)
    negotiations = list(queries.negotiations_of(request.user, order))
    current = negotiations[0] if negotiations else None
    lines = list(order.lines.select_related("product"))
    bids = _priced_bids(list(queries.bids_of(request.user, current)), lines) if current else []
    flags = list(queries.flags_visible(request.user).filter(order=order)) if queries.is_supervising(request.user) else []
    return render(request, "mall/order.html", {
        "order": order, "lines": lines, "sides": sides, "standing": _standing_bid(bids),
        "purchaser": "purchaser" in sides, "supplier": "supplier" in sides,
        "negotiation": current, "bids": bids, "flags": flags,
        "can_approve": order.status == Order.Status.PENDING and services.may_approve(request.user, order),
        "my_turn": bool(current and current.status == Negotiation.Status.OPEN and current.turn in sides),
        "can_negotiate": "purchaser" in sides and order.status == Order.Status.PLACED
        and not any(n.status == Negotiation.Status.AGREED for n in negotiations),
    })


ORDER_ACTIONS = {
    "confirm": (services.order_confirm, "已确认订单"),
    "ship": (services.order_ship, "已发货"),
    "accept": (services.order_accept, "已验收"),
    "settle": (services.order_settle, "已结算"),
    "cancel": (services.order_cancel, "已取消订单"),
    "approve": (services.order_approve, "已审核通过，订单已发送给供应商"),
    "decline": (services.order_approve, "已退回该订单"),
}


@login_required
@require_POST
def order_action(request, pk, action):
    order = get_in_reach(Order, request.user, VIEW, pk=pk)
    if action not in ORDER_ACTIONS:
        messages.error(request, "未知操作")
        return redirect("mall:order", pk)
    service, done = ORDER_ACTIONS[action]
    extra = {}
    if action == "accept":
        extra = {"rating": request.POST.get("rating"), "note": request.POST.get("note", "")}
    elif action == "cancel":
        extra = {"reason": request.POST.get("reason", "")}
    elif action in ("approve", "decline"):
        extra = {"approve": action == "approve", "reason": request.POST.get("reason", "")}
    try:
        service(actor=request.user, order=order, **extra)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, done)
    return redirect("mall:order", pk)


def _proposal(post) -> dict:
    """A price as the forms send it: a total (``total``) or per-line amounts (``line_<id>``:
    an order line's id, or the offer's on a cart) — one or the other, as the services take it."""
    total = (post.get("total") or "").strip()
    line_amounts = {key[5:]: value.strip() for key, value in post.items() if key.startswith("line_") and value.strip()}
    if total and line_amounts:
        raise ServiceError("请按总价或按明细出价，二者只填其一", fields={"total": "二者只填其一"})
    return {"total": total or None, "line_amounts": line_amounts or None}


def _priced_bids(bids, lines) -> list:
    """The bid history with each per-line bid's amounts named by product: what accepting binds."""
    names = {str(line.pk): str(line.product) for line in lines}
    for bid in bids:
        bid.priced_lines = [(names.get(key, "（已变更的明细）"), amount) for key, amount in (bid.line_amounts or {}).items()]
    return bids


def _standing_bid(bids):
    """The proposal on the table: the latest offer or counter."""
    for bid in reversed(bids):
        if bid.action in (Bid.Action.OFFER, Bid.Action.COUNTER):
            return bid
    return None


def _negotiation_act(request, negotiation, action) -> None:
    """Answer a running negotiation (on an order or on a cart): counter, accept, reject, withdraw."""
    p = request.POST
    expected = p.get("round")
    if action == "counter":
        services.negotiation_counter(actor=request.user, negotiation=negotiation, expected_round=expected,
                                     note=p.get("note", ""), **_proposal(p))
        messages.success(request, "已提交新的报价")
    elif action == "accept":
        services.negotiation_accept(actor=request.user, negotiation=negotiation, expected_round=expected)
        messages.success(request, "议价成交，购物车下单时按成交价执行" if negotiation.on_cart
                         else "议价成交，订单金额已按成交价更新")
    elif action == "reject":
        services.negotiation_reject(actor=request.user, negotiation=negotiation, expected_round=expected,
                                    note=p.get("note", ""))
        messages.success(request, "已拒绝，议价结束")
    elif action == "withdraw":
        services.negotiation_withdraw(actor=request.user, negotiation=negotiation, note=p.get("note", ""))
        messages.success(request, "已撤回议价")
    else:
        messages.error(request, "未知操作")


@login_required
@require_POST
def negotiate(request, pk, action):
    order = get_in_reach(Order, request.user, VIEW, pk=pk)
    p = request.POST
    try:
        if action == "open":
            services.negotiation_open(actor=request.user, order=order, note=p.get("note", ""), **_proposal(p))
            messages.success(request, "已发起议价，等待供应商回应")
        else:
            negotiation = get_in_reach(Negotiation, request.user, VIEW, pk=p.get("negotiation"), order=order)
            _negotiation_act(request, negotiation, action)
    except ServiceError as e:
        messages.error(request, e.message)
    return redirect("mall:order", pk)


@login_required
@require_POST
def cart_negotiate(request):
    """The purchaser offers a price on one group of the cart (one supplier, one category)."""
    p = request.POST
    line = get_in_reach(CartLine, request.user, CHANGE, pk=p.get("line"))
    try:
        negotiation = services.cart_negotiation_open(
            actor=request.user, supplier=line.offer.supplier, category=line.offer.product.category,
            note=p.get("note", ""), **_proposal(p))
    except ServiceError as e:
        messages.error(request, e.message)
        return redirect("mall:cart")
    messages.success(request, "已发起议价，等待供应商回应")
    return redirect("mall:negotiation", negotiation.pk)


@login_required
def negotiation_detail(request, pk):
    """A negotiation on a cart (one on an order lives on the order's page)."""
    negotiation = get_in_reach(Negotiation, request.user, VIEW, pk=pk)
    if negotiation.order_id:
        return redirect("mall:order", negotiation.order_id)
    if request.method == "POST":
        try:
            _negotiation_act(request, negotiation, request.POST.get("action", ""))
        except ServiceError as e:
            messages.error(request, e.message)
        return redirect("mall:negotiation", pk)
    subject = services.negotiation_subject(negotiation)
    sides = services.sides_of(request.user, subject)
    bids = _priced_bids(list(queries.bids_of(request.user, negotiation)), subject.lines)
    return render(request, "mall/negotiation.html", {
        "negotiation": negotiation, "subject": subject, "bids": bids, "standing": _standing_bid(bids),
        "purchaser": "purchaser" in sides, "my_turn": negotiation.status == Negotiation.Status.OPEN
        and negotiation.turn in sides})


@login_required
def negotiations(request):
    """Every negotiation the user may see, newest first: those on a cart that ended without an
    order stay findable here."""
    status = request.GET.get("status", "")
    qs = queries.negotiations_visible(request.user, status=status)
    page = keyset_page(qs, request.GET, sorts={"opened": "opened_at"}, default="-opened")
    return _render(request, "mall/negotiations.html", {"page": page, "status": status,
                                                       "statuses": Negotiation.Status.choices})


@login_required
def approvals(request):
    """Officers set their units' internal approval threshold and see the orders awaiting them."""
    units = OrgUnit.objects.filter(memberships__user=request.user, memberships__role__in=APPROVERS,
                                   retired_at__isnull=True).distinct().order_by("path")
    if request.method == "POST":
        unit = get_in_reach(units, request.user, VIEW, pk=request.POST.get("unit"))
        try:
            services.approval_rule_set(actor=request.user, unit=unit, threshold=request.POST.get("threshold") or None)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"已更新「{unit.name}」的采购审核设置")
        return redirect("mall:approvals")
    rules = {r.org_unit_id: r for r in ApprovalRule.objects.restrict(request.user, VIEW).filter(org_unit__in=units)}
    pending = queries.orders_visible(request.user, status=Order.Status.PENDING).filter(org_unit__in=units)
    page = keyset_page(pending, request.GET, sorts={"placed": "placed_at"}, default="-placed")
    return render(request, "mall/approvals.html", {"units": [(u, rules.get(u.pk)) for u in units], "page": page})


@login_required
def settings_page(request):
    """The district administrator's thresholds and unit budgets."""
    district = (OrgUnit.objects.restrict(request.user, CHANGE).filter(kind=OrgUnit.Kind.DISTRICT, parent=None)
                .order_by("path").first())
    if district is None:
        raise NotInReach()
    policy = services.policy_for(district)
    units = OrgUnit.objects.restrict(request.user, CHANGE).filter(
        retired_at__isnull=True, kind__in=[OrgUnit.Kind.DEPARTMENT, OrgUnit.Kind.STREET, OrgUnit.Kind.COMMUNITY,
                                           OrgUnit.Kind.INSTITUTION]).order_by("path")
    initial = {name: getattr(policy, name) for name in services.POLICY_FIELDS}
    policy_form = PolicyForm(request.POST if "policy" in request.POST else None, initial=initial, prefix="p")
    budget_form = BudgetForm(request.POST if "budget" in request.POST else None, units=units, prefix="b",
                             initial={"year": timezone.localdate().year})
    if request.method == "POST":
        try:
            if "policy" in request.POST and policy_form.is_valid():
                services.policy_update(actor=request.user, district=district, **policy_form.cleaned_data)
                messages.success(request, "商城规则参数已保存")
                return redirect("mall:settings")
            if "budget" in request.POST and budget_form.is_valid():
                services.budget_set(actor=request.user, **budget_form.cleaned_data)
                messages.success(request, "单位预算已保存")
                return redirect("mall:settings")
        except ServiceError as e:
            fail(policy_form if "policy" in request.POST else budget_form, e)
    budgets = UnitBudget.objects.restrict(request.user, VIEW).select_related("org_unit")
    page = keyset_page(budgets, request.GET, sorts={"year": "year", "amount": "amount"}, default="-year")
    return render(request, "mall/settings.html", {"policy_form": policy_form, "budget_form": budget_form,
                                                  "page": page})


# --- supervision ---------------------------------------------------------------------------------------------

@login_required
def flags(request):
    if not queries.is_supervising(request.user):
        raise NotInReach()  # the queue does not exist for units and suppliers
    status = request.GET.get("status", "active")
    filters = _filters(request.GET, queries.FLAG_FILTERS)
    qs = queries.flags_filtered(request.user, filters, status=status)
    page = keyset_page(qs, request.GET, sorts={"raised": "raised_at"}, default="-raised")
    return _render(request, "mall/flags.html", {
        "page": page, "status": status, "filters": filters, "rules": Flag.Rule.choices, "statuses": Flag.Status.choices,
        "units": queries.filter_units(request.user), "suppliers": queries.filter_suppliers(request.user),
        "export_query": urlencode({"status": status or "all", **{k: v for k, v in filters.items() if v}})})


@login_required
def flags_export(request):
    if not queries.is_supervising(request.user):
        raise NotInReach()
    return export_page(request, "mall-flags", {"status": request.GET.get("status", "active") or "all",
                                               **_filters(request.GET, queries.FLAG_FILTERS)})


@login_required
def flag_detail(request, pk):
    flag = get_in_reach(queries.flags_visible(request.user), request.user, VIEW, pk=pk)
    form = FlagReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.flag_review(actor=request.user, flag=flag, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"预警已更新为「{Flag.Status(form.cleaned_data['status']).label}」")
            return redirect("mall:flag", flag.pk)
    return render(request, "mall/flag.html", {"flag": flag, "form": form})

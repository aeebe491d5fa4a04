"""Core pages. Thin: parse, call a service or a scoped query, render."""

from __future__ import annotations

import json
from datetime import date

from django.contrib import messages
from django.contrib.auth import authenticate as django_authenticate
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from . import queries, services
from .errors import ServiceError
from .forms import (
    LoginForm,
    MembershipForm,
    MoveForm,
    PasswordChangeForm,
    RenameForm,
    TokenForm,
    UnitForm,
    UserCreateForm,
    WebhookForm,
)
from .listing import keyset_page
from .models import ApiToken, AuditEvent, Membership, OrgUnit, ReportKind, Webhook, users_in_reach
from .reach import (
    CHANGE,
    VIEW,
    Role,
    get_in_reach,
    paths_for,
    require,
    require_somewhere,
    roles_of,
    subtree_q,
)
from .registry import OVERVIEW


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


def fail(form, error: ServiceError):
    """Put a service's refusal on the form: per field where it names one."""
    placed = False
    for name, message in error.fields.items():
        if name in form.fields:
            form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, error.message)


# --- sign in / out ----------------------------------------------------------------------

def login_view(request):
    if request.user.is_authenticated:
        return redirect("core:home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"].strip()
        if services.login_throttled(username):
            form.add_error(None, "登录失败次数过多，请 15 分钟后再试或联系管理员")
        else:
            user = django_authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                services.login_failed(username=username, ip=client_ip(request))
                form.add_error(None, "用户名或密码不正确")
            else:
                login(request, user)
                services.login_succeeded(user=user, ip=client_ip(request))
                target = request.GET.get("next", "")
                if not target.startswith("/") or target.startswith("//"):
                    target = reverse("core:home")
                return redirect(target)
    return render(request, "core/login.html", {"form": form})


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        services.logout_recorded(user=request.user)
    logout(request)
    messages.success(request, "您已安全退出")
    return redirect("core:login")


@login_required
def password_change_view(request):
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(actor=request.user, old_password=form.cleaned_data["old_password"],
                                     new_password=form.cleaned_data["new_password"])
        except ServiceError as e:
            fail(form, e)
        else:
            from django.contrib.auth import update_session_auth_hash
            update_session_auth_hash(request, request.user)
            messages.success(request, "密码已修改")
            return redirect("core:home")
    return render(request, "core/password_change.html", {"form": form})


# --- overview ------------------------------------------------------------------------------

@login_required
def home(request):
    core = queries.overview_core(request.user)
    cards = [card(request.user) for card in OVERVIEW]
    cards = [c for c in cards if c]
    for i, card in enumerate(cards, start=1):
        card["chart_id"] = f"chart-card-{i}"
    charts = {
        "units": {
            "title": {"text": "单位构成", "left": "center", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "item"},
            "series": [{"type": "pie", "radius": ["35%", "65%"],
                        "data": [{"name": k, "value": v} for k, v in core["units_by_kind"]]}],
        },
        "activity": {
            "title": {"text": "近两周平台操作量", "left": "center", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"},
            "xAxis": {"type": "category", "data": [d for d, _ in core["activity"]]},
            "yAxis": {"type": "value"},
            "series": [{"type": "bar", "data": [n for _, n in core["activity"]], "name": "操作"}],
        },
    }
    return render(request, "core/home.html", {
        "core": core, "cards": cards, "charts": charts,
        "todos": queries.todos_of(request.user)[:8],
    })


# --- org tree --------------------------------------------------------------------------------

@login_required
def units(request):
    search = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    if request.GET.get("export") == "xlsx":
        from .views_tables import export_page
        return export_page(request, "orgunits", {"q": search, "kind": kind, "retired": request.GET.get("retired", "")})
    if search or kind:
        qs = queries.units_visible(request.user, search=search, kind=kind,
                                   include_retired=request.GET.get("retired") == "1")
        page = keyset_page(qs.select_related("parent"), request.GET,
                           sorts={"name": "name", "code": "code", "path": "path"}, default="path")
        roots = None
    else:
        page = None
        roots = queries.top_units(request.user)
    context = {"page": page, "roots": roots, "q": search, "kind": kind, "kinds": OrgUnit.Kind.choices}
    if request.htmx:
        return render(request, "core/units.html#results", context)
    return render(request, "core/units.html", context)


@login_required
def unit_detail(request, pk):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=pk)
    children = queries.units_visible(request.user, parent=unit, include_retired=True).order_by("retired_at", "kind", "code")
    can_change = OrgUnit.objects.restrict(request.user, CHANGE).filter(pk=unit.pk).exists()
    ancestors = [a for a in unit.ancestors() if OrgUnit.objects.restrict(request.user, VIEW).filter(pk=a.pk).exists()]
    return render(request, "core/unit_detail.html", {
        "unit": unit, "children": children, "can_change": can_change, "ancestors": ancestors,
        "child_kinds": [(k, OrgUnit.Kind(k).label) for k in OrgUnit.CHILD_KINDS[unit.kind]],
    })


@login_required
def unit_create(request, pk):
    parent = get_in_reach(OrgUnit, request.user, VIEW, pk=pk)
    require(request.user, parent, CHANGE)  # visible but not changeable: 403 with the reason
    form = UnitForm(request.POST or None, initial={"kind": request.GET.get("kind")})
    form.fields["kind"].choices = [(k, OrgUnit.Kind(k).label) for k in OrgUnit.CHILD_KINDS[parent.kind]]
    if request.method == "POST" and form.is_valid():
        try:
            unit = services.orgunit_create(actor=request.user, parent=parent, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已新增「{unit.name}」")
            return redirect("core:unit", pk=parent.pk)
    return render(request, "core/form.html", {"form": form, "title": f"在「{parent.name}」下新增单位",
                                              "back": reverse("core:unit", args=[parent.pk])})


@login_required
def unit_rename(request, pk):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=pk)
    require(request.user, unit, CHANGE)  # the service's check, before the form is shown
    form = RenameForm(request.POST or None, initial={"name": unit.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.orgunit_rename(actor=request.user, unit=unit, name=form.cleaned_data["name"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已改名")
            return redirect("core:unit", pk=unit.pk)
    return render(request, "core/form.html", {"form": form, "title": f"改名：{unit.name}",
                                              "back": reverse("core:unit", args=[unit.pk])})


@login_required
def unit_move(request, pk):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=pk)
    require(request.user, unit, CHANGE)
    parents = queries.units_for_choice(request.user, CHANGE).exclude(path__startswith=unit.path).filter(
        kind__in=[k for k, kids in OrgUnit.CHILD_KINDS.items() if unit.kind in kids])
    form = MoveForm(request.POST or None, parents=parents)
    if request.method == "POST" and form.is_valid():
        try:
            services.orgunit_move(actor=request.user, unit=unit, new_parent=form.cleaned_data["new_parent"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已将「{unit.name}」移到「{form.cleaned_data['new_parent'].name}」下")
            return redirect("core:unit", pk=unit.pk)
    return render(request, "core/form.html", {"form": form, "title": f"移动：{unit.name}",
                                              "back": reverse("core:unit", args=[unit.pk])})


@login_required
@require_POST
def unit_retire(request, pk):
    unit = get_in_reach(OrgUnit, request.user, VIEW, pk=pk)
    try:
        services.orgunit_retire(actor=request.user, unit=unit)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"已撤销「{unit.name}」")
    return redirect("core:unit", pk=unit.pk)


# --- people ------------------------------------------------------------------------------------

@login_required
def users(request):
    if not (roles_of(request.user) & {Role.DISTRICT_ADMIN, Role.SUPERVISOR}):
        return render(request, "core/forbidden.html", status=403)
    if request.GET.get("export") == "xlsx":
        from .views_tables import export_page
        return export_page(request, "users", {"q": request.GET.get("q", "").strip(), "role": request.GET.get("role", "")})
    qs = queries.users_visible(request.user, search=request.GET.get("q", "").strip(), role=request.GET.get("role", ""))
    page = keyset_page(qs, request.GET, sorts={"username": "username", "name": "display_name"}, default="username")
    member_rows = (Membership.objects.restrict(request.user, VIEW).filter(user__in=[u.pk for u in page.rows])
                   .select_related("org_unit"))
    by_user = {}
    for m in member_rows:
        by_user.setdefault(m.user_id, []).append(m)
    for u in page.rows:
        u.member_list = by_user.get(u.pk, [])
    context = {"page": page, "q": request.GET.get("q", ""), "roles": Role.choices, "role": request.GET.get("role", ""),
               "can_create": Role.DISTRICT_ADMIN in roles_of(request.user)}
    if request.htmx:
        return render(request, "core/users.html#results", context)
    return render(request, "core/users.html", context)


@login_required
def user_create(request):
    units_qs = queries.units_for_choice(request.user, CHANGE)
    require_somewhere(units_qs, action_label="新增用户")
    form = UserCreateForm(request.POST or None, units=units_qs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.user_create(actor=request.user, username=data["username"], display_name=data["display_name"],
                                        password=data["password"], role=data["role"], unit=data["unit"],
                                        phone=data["phone"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已新增用户 {user.username}")
            return redirect("core:user", pk=user.pk)
    return render(request, "core/form.html", {"form": form, "title": "新增用户", "back": reverse("core:users")})


@login_required
def user_detail(request, pk):
    person = users_in_reach(request.user, VIEW).filter(pk=pk).first()
    if person is None:
        from .errors import NotInReach
        raise NotInReach()
    can_change = users_in_reach(request.user, CHANGE).filter(pk=pk).exists()
    form = MembershipForm(request.POST or None, units=queries.units_for_choice(request.user, CHANGE))
    if request.method == "POST" and can_change and form.is_valid():
        try:
            services.membership_add(actor=request.user, user=person, role=form.cleaned_data["role"],
                                    unit=form.cleaned_data["unit"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已分配角色")
            return redirect("core:user", pk=person.pk)
    return render(request, "core/user_detail.html", {
        "person": person, "memberships": queries.memberships_visible(request.user, person),
        "can_change": can_change, "form": form,
        "events": queries.audit_events(request.user, actor=person.username)[:20],
    })


@login_required
@require_POST
def membership_remove(request, pk):
    membership = get_in_reach(Membership, request.user, VIEW, pk=pk)
    try:
        services.membership_remove(actor=request.user, membership=membership)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "已移除该角色")
    return redirect("core:user", pk=membership.user_id)


@login_required
@require_POST
def user_toggle_active(request, pk):
    person = users_in_reach(request.user, VIEW).filter(pk=pk).first()
    if person is None:
        from .errors import NotInReach
        raise NotInReach()
    try:
        # the form says which state it asks for, so a double click cannot switch it back
        wanted = request.POST.get("active")
        active = wanted == "1" if wanted in ("0", "1") else not person.is_active
        services.user_set_active(actor=request.user, user=person, active=active)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "已启用该账号" if person.is_active else "已停用该账号")
    return redirect("core:user", pk=person.pk)


# --- audit ---------------------------------------------------------------------------------------

def _audit_filters(request):
    unit = None
    if request.GET.get("unit"):
        unit = get_in_reach(OrgUnit, request.user, VIEW, pk=request.GET["unit"])

    def as_date(name):
        try:
            return date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return None

    return {
        "actor": request.GET.get("actor", "").strip(), "unit": unit,
        "object_type": request.GET.get("object_type", "").strip(), "object_id": request.GET.get("object_id", "").strip(),
        "action": request.GET.get("action", ""), "since": as_date("since"), "until": as_date("until"),
    }


def _audit_columns():
    from .tables import ExportColumn

    return [
        ExportColumn("时间", lambda e: timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M:%S"), width=20),
        ExportColumn("操作人", "actor_name"), ExportColumn("动作", "get_action_display"), ExportColumn("细项", "verb"),
        ExportColumn("对象类型", "object_type"), ExportColumn("对象编号", "object_id"),
        ExportColumn("对象", "object_repr", width=30),
        ExportColumn("变更", lambda e: json.dumps(e.changes, ensure_ascii=False), width=50),
        ExportColumn("链", "chain"), ExportColumn("序号", "seq"), ExportColumn("哈希", "hash", width=66),
    ]


@login_required
def audit_list(request):
    if not (roles_of(request.user) & {Role.DISTRICT_ADMIN, Role.SUPERVISOR}):
        return render(request, "core/forbidden.html", status=403)
    filters = _audit_filters(request)
    qs = queries.audit_events(request.user, **filters)
    if request.GET.get("export") == "xlsx":
        from .tables.export import export_response
        return export_response(actor=request.user, kind="audit", title="审计日志", columns=_audit_columns(),
                               queryset=qs.order_by("id"), filters={k: str(v) for k, v in filters.items() if v})
    page = keyset_page(qs, request.GET, sorts={"at": "at"}, default="-at")
    context = {"page": page, "filters": filters, "actions": AuditEvent.Action.choices, "params": request.GET,
               "units": queries.units_for_choice(request.user, VIEW, kinds=["district", "street", "department"])}
    if request.htmx:
        return render(request, "core/audit_list.html#results", context)
    return render(request, "core/audit_list.html", context)


# --- tokens, to-dos, webhooks ----------------------------------------------------------------

@login_required
def tokens(request):
    form = TokenForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_key = services.token_create(actor=request.user, owner=request.user,
                                                   name=form.cleaned_data["name"])
        except ServiceError as e:
            fail(form, e)
        else:
            form = TokenForm()
    return render(request, "core/tokens.html", {"tokens": ApiToken.objects.filter(user=request.user),
                                                "form": form, "new_key": new_key})


@login_required
@require_POST
def token_revoke(request, pk):
    token = ApiToken.objects.filter(pk=pk, user=request.user).first()
    if token is None:
        from .errors import NotInReach
        raise NotInReach()
    try:
        services.token_revoke(actor=request.user, token=token)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"已吊销令牌「{token.name}」")
    return redirect("core:tokens")


@login_required
def todos(request):
    show_done = request.GET.get("done") == "1"
    items = queries.todos_of(request.user, open_only=not show_done).select_related("org_unit")[:200]
    return render(request, "core/todos.html", {"items": items, "show_done": show_done})


@login_required
def webhooks(request):
    # the units the service accepts (Webhook's change roles), not only those whose tree one may edit
    roots = paths_for(request.user, Webhook.reach.roles_for(CHANGE))
    units_qs = queries.units_for_choice(request.user, VIEW).filter(subtree_q("path", roots)) if roots \
        else OrgUnit.objects.none()
    can_add = units_qs.exists()
    if request.method == "POST":
        require_somewhere(can_add, action_label="配置通知")
    form = WebhookForm(request.POST or None, units=units_qs)
    if request.method == "POST" and form.is_valid():
        try:
            services.webhook_create(actor=request.user, unit=form.cleaned_data["unit"], name=form.cleaned_data["name"],
                                    url=form.cleaned_data["url"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已添加通知地址")
            return redirect("core:webhooks")
    hooks = Webhook.objects.restrict(request.user, VIEW).select_related("org_unit")
    deletable = set(Webhook.objects.restrict(request.user, CHANGE).values_list("pk", flat=True))
    return render(request, "core/webhooks.html", {"hooks": hooks, "form": form, "can_add": can_add,
                                                  "deletable": deletable})


@login_required
@require_POST
def webhook_delete(request, pk):
    hook = get_in_reach(Webhook, request.user, VIEW, pk=pk)
    try:
        services.webhook_delete(actor=request.user, hook=hook)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "已删除通知地址")
    return redirect("core:webhooks")


# --- periodic reports ---------------------------------------------------------------------------

@login_required
def reports(request):
    kinds = ReportKind.objects.order_by("name")
    kind = kinds.filter(code=request.GET.get("kind")).first() or kinds.first()
    rows, period = [], None
    if kind:
        from .periods import period_start_of
        try:
            period = period_start_of(kind.period, date.fromisoformat(request.GET.get("period", "")))
        except ValueError:
            period = period_start_of(kind.period, date.today())
        rows = queries.report_completeness(request.user, kind, period)
    done = sum(1 for _u, r in rows if r)
    return render(request, "core/reports.html", {"kinds": kinds, "kind": kind, "rows": rows, "period": period,
                                                 "done": done, "missing": len(rows) - done})


def chart_json(option: dict) -> str:
    return json.dumps(option, ensure_ascii=False)


def health(request):
    return HttpResponse("ok", content_type="text/plain")

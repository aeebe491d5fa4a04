"""Investment promotion pages. Thin: parse, call a service or a scoped query, render."""

from __future__ import annotations

import tempfile
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from govdesk.core.errors import NotInReach, ServiceError
from govdesk.core.listing import keyset_page
from govdesk.core.models import OrgUnit, User
from govdesk.core.reach import CHANGE, VIEW, Role, get_in_reach, require, require_somewhere, roles_of
from govdesk.core.tables.export import download_response
from govdesk.core.views import fail
from govdesk.core.views_tables import export_page

from . import charts, queries, services, sheets
from . import ledger as ledgers
from .forms import (
    ActivityForm,
    AppealForm,
    AssessmentForm,
    BuildingForm,
    ContactForm,
    DocumentForm,
    DrawingForm,
    FirmForm,
    MeetingForm,
    MergeForm,
    MinutesForm,
    MoveForm,
    OfficeForm,
    ParcelForm,
    ProgressForm,
    ProjectForm,
    RateForm,
    ReassignForm,
    ReplyForm,
    ReportForm,
    ResolveForm,
    SquadMeetingForm,
    SquadMemberForm,
    TaskCloseForm,
    TaskForm,
    TierForm,
)
from .models import (
    Activity,
    Appeal,
    Assessment,
    Building,
    Contact,
    Document,
    Drawing,
    Firm,
    HqGroup,
    Industry,
    Meeting,
    Office,
    Parcel,
    Project,
    Region,
    Squad,
    SquadMeeting,
    SquadMember,
    Task,
    Tier,
)

FIRM_SORTS = {"name": "name", "created": "created_at", "assessed": "id"}


def _can(user, model, obj=None) -> bool:
    qs = model.objects.restrict(user, CHANGE)
    return qs.filter(pk=obj.pk).exists() if obj is not None else qs.exists()


def _units(user, kinds=("department",)):
    """Units the user may create firms, projects, appeals and meetings in; the lead unit first."""
    units = queries.writable_units(user, services.WRITERS, list(kinds))
    lead = Office.current().lead_unit_id
    return sorted(units, key=lambda u: u.pk != lead)


def _people(unit: OrgUnit):
    return services.assignable_users(unit).order_by("username")


def _today():
    return timezone.localdate()


# --- dashboard ---------------------------------------------------------------------------------------

@login_required
def dashboard(request):
    figures = queries.dashboard(request.user)
    return render(request, "invest/dashboard.html", {
        "f": figures, "charts": charts.dashboard(figures), "can_create": bool(_units(request.user)),
        "can_configure": Role.DISTRICT_ADMIN in roles_of(request.user),
        "unconfigured": Office.current().lead_unit_id is None})


@login_required
def office(request):
    """District administrators name the lead unit and set the clocks."""
    units = queries.writable_units(request.user, {Role.DISTRICT_ADMIN}, ["department"])
    if not units:
        raise NotInReach()
    current = Office.current()
    form = OfficeForm(request.POST or None, units=units, initial={
        "lead_unit": current.lead_unit_id, "stall_amber_days": current.stall_amber_days,
        "stall_red_days": current.stall_red_days, "advantages": current.advantages})
    if request.method == "POST" and form.is_valid():
        try:
            services.office_configure(actor=request.user, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "招商配置已保存")
            return redirect("invest:dashboard")
    return render(request, "core/form.html", {"form": form, "title": "招商配置", "back": reverse("invest:dashboard")})


# --- firms ----------------------------------------------------------------------------------------------

def _firm_filters(request) -> dict:
    g = request.GET
    return {"search": g.get("q", ""), "industry": g.get("industry", ""), "tier": g.get("tier", ""),
            "region": g.get("region", ""), "squad": g.get("squad", ""), "conclusion": g.get("conclusion", ""),
            "system": g.get("system", "")}


@login_required
def firms(request):
    filters = _firm_filters(request)
    if request.GET.get("export") == "xlsx":
        return export_page(request, "invest-firms", filters)
    page = keyset_page(queries.firms_visible(request.user, **filters).distinct(), request.GET,
                       sorts={"name": "name", "created": "created_at"}, default="name")
    context = {"page": page, "filters": filters, "industries": Industry.objects.all(), "tiers": Tier.objects.all(),
               "regions": Region.choices, "squads": queries.squads_visible(request.user),
               "conclusions": [("assessed", "已研判（全部）"), *Assessment._meta.get_field("conclusion").choices],
               "can_create": bool(_units(request.user))}
    if request.htmx:
        return render(request, "invest/firms.html#results", context)
    return render(request, "invest/firms.html", context)


def _referrer(user, text):
    text = (text or "").strip()
    if not text:
        return None
    qs = Firm.objects.restrict(user, VIEW)
    firm = qs.filter(pk=text).first() if text.isdigit() else None
    firm = firm or qs.filter(name_key=services.name_key(text)).first()
    if firm is None:
        raise ServiceError(f"企业库中没有找到推荐企业「{text}」", fields={"referred_by": "没有找到该企业"})
    return firm


@login_required
def firm_create(request):
    units = _units(request.user)
    require_somewhere(units, action_label="新增企业")
    form = FirmForm(request.POST or None, units=units, squads=queries.squads_visible(request.user))
    duplicate = None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        contacts = [(d["contact_name"], d["contact_title"], d["contact_phone"])] if d["contact_name"] else []
        try:
            firm = services.firm_create(
                actor=request.user, unit=d["unit"], name=d["name"], credit_code=d["credit_code"],
                industry=d["industry"], region=d["region"], city=d["city"], squad=d["squad"], note=d["note"],
                referred_by=_referrer(request.user, d["referred_by"]), tiers=form.tiers(), contacts=contacts)
        except ServiceError as e:
            fail(form, e)
            if e.fields.get("duplicate_id"):
                duplicate = Firm.objects.restrict(request.user, VIEW).filter(pk=e.fields["duplicate_id"]).first()
        else:
            messages.success(request, f"已将「{firm.name}」加入企业库")
            return redirect("invest:firm", pk=firm.pk)
    return render(request, "invest/firm_form.html", {"form": form, "duplicate": duplicate})


@login_required
def firm_edit(request, pk):
    firm = get_in_reach(Firm.objects.select_related("referred_by"), request.user, VIEW, pk=pk)
    require(request.user, firm, CHANGE)
    initial = {"name": firm.name, "credit_code": firm.credit_code, "industry": firm.industry_id,
               "region": firm.region, "city": firm.city, "squad": firm.squad_id, "note": firm.note,
               "referred_by": firm.referred_by.name if firm.referred_by else ""}
    form = FirmForm(request.POST or None, squads=queries.squads_visible(request.user), editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.firm_update(actor=request.user, firm=firm, name=d["name"], credit_code=d["credit_code"],
                                 industry=d["industry"], region=d["region"], city=d["city"], squad=d["squad"],
                                 note=d["note"], referred_by=_referrer(request.user, d["referred_by"]))
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已保存")
            return redirect("invest:firm", pk=firm.pk)
    return render(request, "core/form.html", {"form": form, "title": f"修改：{firm.name}",
                                              "back": reverse("invest:firm", args=[firm.pk])})


@login_required
def firm_detail(request, pk):
    firm = get_in_reach(Firm.objects.select_related("industry", "squad", "referred_by", "org_unit"), request.user,
                        VIEW, pk=pk)
    return render(request, "invest/firm_detail.html", {
        "firm": firm, "history": queries.firm_history(request.user, firm),
        "tiers": firm.tiers.select_related("tier"), "contacts": firm.contacts.all(),
        "referrals": Firm.objects.restrict(request.user, VIEW).filter(referred_by=firm),
        "projects": Project.objects.restrict(request.user, VIEW).filter(firms=firm),
        "can_change": _can(request.user, Firm, firm), "merge_form": MergeForm(),
        "tier_form": TierForm(auto_id="tier_%s"), "contact_form": ContactForm(auto_id="contact_%s"),
        "activity_form": ActivityForm(squads=queries.squads_visible(request.user),
                                      initial={"happened_on": _today()}),
    })


@login_required
@require_POST
def firm_merge(request, pk):
    survivor = get_in_reach(Firm, request.user, VIEW, pk=pk)
    form = MergeForm(request.POST)
    if form.is_valid():
        duplicate = get_in_reach(Firm, request.user, VIEW, pk=form.cleaned_data["duplicate"])
        try:
            services.firm_merge(actor=request.user, survivor=survivor, duplicate=duplicate)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"已将「{duplicate.name}」并入本企业")
    else:
        messages.error(request, "请填写被合并企业的编号")
    return redirect("invest:firm", pk=survivor.pk)


def _post_to_firm(request, pk, form_class, call, done):
    firm = get_in_reach(Firm, request.user, VIEW, pk=pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            call(firm, form.cleaned_data)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, done)
    else:
        messages.error(request, "；".join(f"{form.fields[k].label}：{v[0]}" for k, v in form.errors.items()))
    return redirect("invest:firm", pk=firm.pk)


@login_required
@require_POST
def firm_tier_add(request, pk):
    return _post_to_firm(request, pk, TierForm, lambda firm, d: services.firm_tier_add(
        actor=request.user, firm=firm, tier=d["tier"], year=d["year"]), "已记录榜单")


@login_required
@require_POST
def contact_add(request, pk):
    return _post_to_firm(request, pk, ContactForm, lambda firm, d: services.contact_add(
        actor=request.user, firm=firm, **d), "已添加联系人")


@login_required
@require_POST
def contact_phone(request, pk):
    contact = Contact.objects.filter(pk=pk, firm__in=Firm.objects.restrict(request.user, VIEW)).first()
    if contact is None:
        raise NotInReach()
    try:
        phone = services.contact_phone(actor=request.user, contact=contact)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.info(request, f"{contact.name} 的电话：{phone}（本次查看已记录）")
    return redirect("invest:firm", pk=contact.firm_id)


@login_required
@require_POST
def activity_create(request, pk):
    firm = get_in_reach(Firm, request.user, VIEW, pk=pk)
    form = ActivityForm(request.POST, squads=queries.squads_visible(request.user))
    if form.is_valid():
        try:
            services.activity_record(actor=request.user, firm=firm, **form.cleaned_data)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, "已记录招商活动")
    else:
        messages.error(request, "；".join(f"{form.fields[k].label}：{v[0]}" for k, v in form.errors.items()))
    return redirect("invest:firm", pk=firm.pk)


# --- assessment --------------------------------------------------------------------------------------

@login_required
def assessment_create(request, pk):
    firm = get_in_reach(Firm, request.user, VIEW, pk=pk)
    require(request.user, firm, CHANGE)
    form = AssessmentForm(request.POST or None, squads=queries.squads_visible(request.user),
                          initial={"met_on": _today(), "squad": firm.squad_id, "priority": 3})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.assessment_record(actor=request.user, firm=firm, met_on=d["met_on"], conclusion=d["conclusion"],
                                       priority=d["priority"], squad=d["squad"], scores=form.scores(), note=d["note"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已记录对「{firm.name}」的研判")
            return redirect("invest:firm", pk=firm.pk)
    return render(request, "invest/assessment_form.html", {"form": form, "firm": firm})


@login_required
def assessments(request):
    qs = queries.firms_visible(request.user, conclusion=request.GET.get("conclusion") or "assessed",
                               squad=request.GET.get("squad", ""))
    page = keyset_page(qs, request.GET, sorts={"assessed": "assessed_on", "name": "name"}, default="-assessed")
    return render(request, "invest/assessments.html", {
        "page": page, "conclusion": request.GET.get("conclusion", ""), "squad": request.GET.get("squad", ""),
        "conclusions": Assessment._meta.get_field("conclusion").choices,
        "squads": queries.squads_visible(request.user)})


@login_required
def assessment_detail(request, pk):
    assessment = get_in_reach(Assessment.objects.select_related("firm", "squad", "created_by"), request.user, VIEW,
                              pk=pk)
    return render(request, "invest/assessment_detail.html", {
        "a": assessment, "scores": assessment.scores.select_related("dimension")})


# --- squads ------------------------------------------------------------------------------------------------

@login_required
def squads(request):
    rows = []
    for squad in queries.squads_visible(request.user).order_by("id"):
        members = list(squad.members.select_related("user").order_by("-is_leader", "id"))
        firms = Firm.objects.restrict(request.user, VIEW).filter(squad=squad)
        acts = Activity.objects.restrict(request.user, VIEW).filter(squad=squad)
        rows.append({"squad": squad, "members": members, "firms": firms.count(),
                     "visits": acts.filter(kind=Activity.Kind.VISIT).count(),
                     "receptions": acts.filter(kind=Activity.Kind.RECEPTION).count()})
    return render(request, "invest/squads.html", {"rows": rows})


@login_required
def squad_detail(request, pk):
    squad = get_in_reach(Squad, request.user, VIEW, pk=pk)
    if request.GET.get("export") == "xlsx":
        return export_page(request, "invest-activities", {"squad": str(squad.pk)})
    can_change = _can(request.user, Squad, squad)
    form = SquadMemberForm(request.POST or None, people=_people(squad.org_unit))
    if request.method == "POST" and can_change and form.is_valid():
        try:
            services.squad_member_add(actor=request.user, squad=squad, user=form.cleaned_data["user"],
                                      is_leader=form.cleaned_data["is_leader"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已加入小分队")
            return redirect("invest:squad", pk=squad.pk)
    return render(request, "invest/squad_detail.html", {
        "squad": squad, "can_change": can_change, "form": form,
        "meeting_form": SquadMeetingForm(initial={"held_on": _today()}, auto_id="sm_%s"),
        "can_meet": bool(roles_of(request.user) & services.WRITERS),
        "meetings": SquadMeeting.objects.restrict(request.user, VIEW).filter(squad=squad)[:24],
        "members": squad.members.select_related("user").order_by("-is_leader", "id"),
        "firms": Firm.objects.restrict(request.user, VIEW).filter(squad=squad).select_related("industry")
        .order_by("priority", "name")[:200],
        "activities": Activity.objects.restrict(request.user, VIEW).filter(squad=squad).select_related("firm")[:50],
    })


@login_required
@require_POST
def squad_meeting_create(request, pk):
    squad = get_in_reach(Squad, request.user, VIEW, pk=pk)
    form = SquadMeetingForm(request.POST)
    if form.is_valid():
        try:
            services.squad_meeting_record(actor=request.user, squad=squad, **form.cleaned_data)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, "已记录小分队例会")
    else:
        messages.error(request, "；".join(f"{form.fields[k].label}：{v[0]}" for k, v in form.errors.items()))
    return redirect("invest:squad", pk=squad.pk)


@login_required
@require_POST
def squad_member_remove(request, pk):
    member = SquadMember.objects.filter(pk=pk, squad__in=Squad.objects.restrict(request.user, VIEW)).first()
    if member is None:
        raise NotInReach()
    try:
        services.squad_member_remove(actor=request.user, member=member)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "已移出小分队")
    return redirect("invest:squad", pk=member.squad_id)


# --- projects -------------------------------------------------------------------------------------------

def _project_filters(request) -> dict:
    g = request.GET
    return {"search": g.get("q", ""), "stage": g.get("stage", ""), "industry": g.get("industry", ""),
            "hq_group": g.get("hq_group", ""), "stall": g.get("stall", "")}


@login_required
def projects(request):
    filters = _project_filters(request)
    if request.GET.get("export") == "xlsx":
        return export_page(request, "invest-projects", filters)
    today = _today()
    qs = queries.projects_visible(request.user, today=today, **filters)
    view = "kanban" if request.GET.get("view") == "kanban" else "table"
    base = request.GET.copy()
    for key in ("stage", "after", "before", "last", "view"):
        base.pop(key, None)
    context = {"filters": filters, "view": view, "totals": queries.stage_totals(qs), "stages": Project.Stage.choices,
               "industries": Industry.objects.all(), "groups": HqGroup.objects.all(), "base_query": base.urlencode(),
               "can_create": bool(_units(request.user))}
    if view == "kanban":
        context["columns"] = queries.kanban(qs, today)
    else:
        page = keyset_page(qs, request.GET, sorts={"moved": "moved_at", "name": "name", "created": "created_at"},
                           default="moved")
        office = Office.current()
        for p in page.rows:
            p.stall, p.idle = queries.stall_level(p, today, office), queries.idle_days(p, today)
        context["page"] = page
    if request.htmx:
        return render(request, "invest/projects.html#results", context)
    return render(request, "invest/projects.html", context)


@login_required
def project_create(request):
    units = _units(request.user)
    require_somewhere(units, action_label="新增项目")
    firms_qs = Firm.objects.restrict(request.user, VIEW).order_by("name")
    initial = {}
    if request.GET.get("firm", "").isdigit():
        initial["firms"] = [int(request.GET["firm"])]
    form = ProjectForm(request.POST or None, units=units, firms=firms_qs, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            project = services.project_create(
                actor=request.user, unit=d["unit"], firms=d["firms"], name=d["name"], industry=d["industry"],
                planned_investment=d["planned_investment"], need=d["need"], need_area=d["need_area"],
                need_use=d["need_use"], hq_group=d["hq_group"], leader=d["leader"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已新增项目「{project.name}」")
            return redirect("invest:project", pk=project.pk)
    return render(request, "core/form.html", {"form": form, "title": "新增项目", "back": reverse("invest:projects")})


@login_required
def project_edit(request, pk):
    """Correct a project's particulars (not its stage: that moves with its evidence on the project page)."""
    project = get_in_reach(Project.objects.select_related("industry", "hq_group"), request.user, VIEW, pk=pk)
    require(request.user, project, CHANGE)
    firms_qs = Firm.objects.restrict(request.user, VIEW).order_by("name")
    initial = {"name": project.name, "firms": [f.pk for f in project.firms.all()], "industry": project.industry_id,
               "planned_investment": project.planned_investment, "paid_in": project.paid_in, "need": project.need,
               "need_area": project.need_area, "need_use": project.need_use, "hq_group": project.hq_group_id,
               "leader": project.leader}
    form = ProjectForm(request.POST or None, firms=firms_qs, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.project_update(
                actor=request.user, project=project, firms=d["firms"], name=d["name"], industry=d["industry"],
                planned_investment=d["planned_investment"], paid_in=d["paid_in"], need=d["need"],
                need_area=d["need_area"], need_use=d["need_use"], hq_group=d["hq_group"], leader=d["leader"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "项目信息已保存")
            return redirect("invest:project", pk=project.pk)
    return render(request, "core/form.html", {"form": form, "title": f"修改项目：{project.name}",
                                              "back": reverse("invest:project", args=[project.pk])})


@login_required
def project_detail(request, pk):
    project = get_in_reach(Project.objects.select_related("industry", "hq_group"), request.user, VIEW, pk=pk)
    today = _today()
    nxt = services.next_stage(project.stage)
    move_form = MoveForm(initial={"to_stage": nxt}, auto_id="move_%s")
    move_form.fields["to_stage"].choices = [(s, Project.Stage(s).label) for s in (nxt, Project.Stage.LOST) if s]
    durations = []
    events = list(project.events.select_related("actor"))
    moves = [e for e in reversed(events) if e.to_stage]
    for i, e in enumerate(moves):
        end = moves[i + 1].at if i + 1 < len(moves) else None
        days = ((timezone.localdate(end) if end else today) - timezone.localdate(e.at)).days
        durations.append({"stage": Project.Stage(e.to_stage).label, "since": e.at, "days": days, "current": end is None})
    return render(request, "invest/project_detail.html", {
        "p": project, "firms": Firm.objects.restrict(request.user, VIEW).filter(projects=project),
        "stall": queries.stall_level(project, today), "idle": queries.idle_days(project, today),
        "events": events, "durations": durations, "documents": project.documents.select_related("uploaded_by"),
        "can_edit": (can_edit := _can(request.user, Project, project)),
        "can_change": can_edit and project.stage not in Project.CLOCKLESS,
        "move_form": move_form, "doc_form": DocumentForm(), "progress_form": ProgressForm(initial={
            "paid_in": project.paid_in}, auto_id="progress_%s"), "matches": queries.carrier_matches(request.user, project),
        "appeals": Appeal.objects.restrict(request.user, VIEW).filter(project=project),
    })


@login_required
@require_POST
def project_move(request, pk):
    project = get_in_reach(Project, request.user, VIEW, pk=pk)
    form = MoveForm(request.POST)
    if form.is_valid():
        try:
            services.project_move(actor=request.user, project=project, **form.cleaned_data)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"项目已进入「{Project.Stage(form.cleaned_data['to_stage']).label}」阶段")
    else:
        messages.error(request, "请选择要推进到的阶段")
    return redirect("invest:project", pk=project.pk)


@login_required
@require_POST
def project_progress(request, pk):
    project = get_in_reach(Project, request.user, VIEW, pk=pk)
    form = ProgressForm(request.POST)
    if form.is_valid():
        try:
            services.project_progress(actor=request.user, project=project, **form.cleaned_data)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, "已记录项目进展")
    else:
        messages.error(request, "请填写进展情况")
    return redirect("invest:project", pk=project.pk)


@login_required
@require_POST
def document_upload(request, pk):
    project = get_in_reach(Project, request.user, VIEW, pk=pk)
    form = DocumentForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            doc = services.document_upload(actor=request.user, project=project, kind=form.cleaned_data["kind"],
                                           upload=form.cleaned_data["file"])
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"已上传{doc.get_kind_display()}")
    else:
        messages.error(request, "请选择材料类型和文件")
    return redirect("invest:project", pk=project.pk)


@login_required
def document_download(request, pk, model=Document):
    """Serve a stored file (a project's document, or a parcel's drawing with ``model=Drawing``)
    to someone who reaches its record."""
    doc = get_in_reach(model, request.user, VIEW, pk=pk)
    path = services.upload_root() / doc.stored_name
    if not path.is_file():
        raise NotInReach()
    return FileResponse(open(path, "rb"), content_type=doc.content_type, filename=doc.original_name,
                        as_attachment=doc.content_type == "application/pdf" and request.GET.get("download") == "1")


# --- appeals -------------------------------------------------------------------------------------------

@login_required
def appeals(request):
    today = _today()
    if request.GET.get("export") == "xlsx":
        g = request.GET
        return export_page(request, "invest-appeals", {
            "status": g.get("status", "open") or "all", "category": g.get("category", ""),
            "overdue": "1" if g.get("overdue") == "1" else "", "search": g.get("q", "")})
    # reading the list writes nothing: overdue appeals are escalated by `govdesk invest escalate` (cron)
    g = request.GET
    qs = queries.appeals_visible(request.user, status=g.get("status", "open"), category=g.get("category", ""),
                                 overdue=g.get("overdue") == "1", search=g.get("q", ""), today=today)
    page = keyset_page(qs, request.GET, sorts={"due": "due_on", "received": "received_on"}, default="due")
    return render(request, "invest/appeals.html", {
        "page": page, "today": today, "status": g.get("status", "open"), "category": g.get("category", ""),
        "overdue": g.get("overdue") == "1", "q": g.get("q", ""), "categories": Appeal.Category.choices,
        "statuses": Appeal.Status.choices, "can_create": bool(_units(request.user))})


@login_required
def appeal_create(request):
    units = _units(request.user)
    require_somewhere(units, action_label="登记诉求")
    firms_qs = Firm.objects.restrict(request.user, VIEW).order_by("name")
    people = _people(units[0]) if units else User.objects.none()
    initial = {"received_on": _today(), "handler": request.user.pk}
    if request.GET.get("firm", "").isdigit():
        initial["firm"] = int(request.GET["firm"])
    form = AppealForm(request.POST or None, firms=firms_qs, people=people, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            appeal = services.appeal_create(actor=request.user, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已登记诉求，办结时限 {appeal.due_on:%Y-%m-%d}")
            return redirect("invest:appeal", pk=appeal.pk)
    return render(request, "core/form.html", {"form": form, "title": "登记企业诉求", "back": reverse("invest:appeals")})


@login_required
def appeal_detail(request, pk):
    appeal = get_in_reach(Appeal.objects.select_related("firm", "owner_group", "handler", "project"), request.user,
                          VIEW, pk=pk)
    history = sorted([*appeal.replies.select_related("author"),
                      *appeal.reassignments.select_related("actor", "from_group", "to_group", "from_handler",
                                                           "to_handler")], key=lambda item: (item.at, item.pk))
    return render(request, "invest/appeal_detail.html", {
        "a": appeal, "history": history, "today": _today(),
        "can_change": _can(request.user, Appeal, appeal), "reply_form": ReplyForm(),
        "reassign_form": ReassignForm(people=_people(appeal.org_unit), auto_id="reassign_%s"),
        "resolve_form": ResolveForm(initial={"resolved_on": _today()}), "rate_form": RateForm()})


@login_required
@require_POST
def appeal_action(request, pk, action):
    appeal = get_in_reach(Appeal, request.user, VIEW, pk=pk)
    forms_by_action = {"reply": (ReplyForm, services.appeal_reply, "已答复"),
                       "reassign": (ReassignForm, services.appeal_reassign, "诉求已转办"),
                       "resolve": (ResolveForm, services.appeal_resolve, "诉求已办结"),
                       "rate": (RateForm, services.appeal_rate, "已记录企业评价")}
    if action not in forms_by_action:
        raise NotInReach()
    form_class, service, done = forms_by_action[action]
    form = form_class(request.POST, **({"people": _people(appeal.org_unit)} if action == "reassign" else {}))
    if form.is_valid():
        try:
            service(actor=request.user, appeal=appeal, **form.cleaned_data)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, done)
    else:
        messages.error(request, "；".join(f"{form.fields[k].label}：{v[0]}" for k, v in form.errors.items()
                                         if k in form.fields) or "请完整填写")
    return redirect("invest:appeal", pk=appeal.pk)


# --- the weekly meeting -----------------------------------------------------------------------------------

@login_required
def meetings(request):
    units = _units(request.user)
    form = MeetingForm(request.POST or None, initial={"held_on": _today()})
    if request.method == "POST" and form.is_valid():
        if not units:
            messages.error(request, "您的角色无权召开例会")
            return redirect("invest:meetings")
        try:
            meeting = services.meeting_create(actor=request.user, unit=units[0], **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            return redirect("invest:meeting", pk=meeting.pk)
    qs = Meeting.objects.restrict(request.user, VIEW)
    page = keyset_page(qs, request.GET, sorts={"held": "held_on"}, default="-held")
    return render(request, "invest/meetings.html", {"page": page, "form": form, "can_create": bool(units)})


def _meeting_context(request, meeting):
    return {"m": meeting, "agenda": queries.agenda(request.user, meeting),
            "decided": Task.objects.restrict(request.user, VIEW).filter(meeting=meeting).select_related(
                "owner", "project", "appeal"),
            "closed_here": Task.objects.restrict(request.user, VIEW).filter(closed_in=meeting).select_related("owner"),
            "office": Office.current()}


@login_required
def meeting_detail(request, pk):
    meeting = get_in_reach(Meeting, request.user, VIEW, pk=pk)
    context = _meeting_context(request, meeting)
    target = {}
    if request.GET.get("project", "").isdigit():
        target["project"] = get_in_reach(Project, request.user, VIEW, pk=request.GET["project"])
    if request.GET.get("appeal", "").isdigit():
        target["appeal"] = get_in_reach(Appeal, request.user, VIEW, pk=request.GET["appeal"])
    initial = {"due_on": meeting.held_on + timedelta(days=7), **{k: v.pk for k, v in target.items()}}
    if target:
        initial["text"] = "推进：" + str(next(iter(target.values())))
    context.update({"can_change": _can(request.user, Meeting, meeting), "target": target,
                    "task_form": TaskForm(initial=initial, people=_people(meeting.org_unit)),
                    "minutes_form": MinutesForm(initial={"minutes": meeting.minutes}),
                    "close_form": TaskCloseForm()})
    return render(request, "invest/meeting_detail.html", context)


@login_required
def meeting_print(request, pk):
    meeting = get_in_reach(Meeting, request.user, VIEW, pk=pk)
    return render(request, "invest/meeting_print.html", _meeting_context(request, meeting))


@login_required
@require_POST
def task_assign(request, pk):
    meeting = get_in_reach(Meeting, request.user, VIEW, pk=pk)
    form = TaskForm(request.POST, people=_people(meeting.org_unit))
    if form.is_valid():
        d = form.cleaned_data
        try:
            project = get_in_reach(Project, request.user, VIEW, pk=d["project"]) if d["project"] else None
            appeal = get_in_reach(Appeal, request.user, VIEW, pk=d["appeal"]) if d["appeal"] else None
            services.task_assign(actor=request.user, meeting=meeting, text=d["text"], owner=d["owner"],
                                 due_on_date=d["due_on"], project=project, appeal=appeal)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"已交办给 {d['owner'].label}")
    else:
        messages.error(request, "；".join(f"{form.fields[k].label}：{v[0]}" for k, v in form.errors.items()))
    return redirect("invest:meeting", pk=meeting.pk)


@login_required
@require_POST
def task_close(request, pk, task_pk):
    meeting = get_in_reach(Meeting, request.user, VIEW, pk=pk)
    task = get_in_reach(Task, request.user, VIEW, pk=task_pk)
    form = TaskCloseForm(request.POST)
    form.is_valid()
    try:
        services.task_close(actor=request.user, task=task, meeting=meeting, note=form.cleaned_data.get("note", ""))
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "已销号")
    return redirect("invest:meeting", pk=meeting.pk)


@login_required
@require_POST
def meeting_minutes(request, pk):
    meeting = get_in_reach(Meeting, request.user, VIEW, pk=pk)
    form = MinutesForm(request.POST)
    if form.is_valid():
        try:
            services.meeting_minutes(actor=request.user, meeting=meeting, minutes=form.cleaned_data["minutes"])
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, "会议纪要已保存")
    return redirect("invest:meeting", pk=meeting.pk)


# --- carriers -----------------------------------------------------------------------------------------

@login_required
def carriers(request):
    g = request.GET
    kind = "buildings" if g.get("kind") == "buildings" else "parcels"
    if g.get("export") == "xlsx":
        filters = ({"unit": g.get("unit", ""), "status": g.get("status", ""), "use": g.get("use", "")}
                   if kind == "parcels" else {"unit": g.get("unit", ""), "vacant": g.get("vacant", "")})
        return export_page(request, f"invest-{kind}", filters)
    if kind == "parcels":
        qs = queries.parcels_visible(request.user, unit=g.get("unit", ""), status=g.get("status", ""),
                                     use=g.get("use", ""))
        page = keyset_page(qs, g, sorts={"area": "area_mu", "name": "name"}, default="-area")
    else:
        qs = queries.buildings_visible(request.user, unit=g.get("unit", ""), vacant=g.get("vacant") == "1")
        page = keyset_page(qs, g, sorts={"vacant": "vacant_area", "rent": "rent", "name": "name"}, default="-vacant")
    return render(request, "invest/carriers.html", {
        "kind": kind, "page": page, "params": g, "statuses": Parcel.Status.choices,
        "uses": Parcel._meta.get_field("planned_use").choices, "can_report": bool(queries.reporting_units(request.user)),
        "changeable": set() if kind == "parcels" else set(Building.objects.restrict(request.user, CHANGE).filter(
            pk__in=[c.pk for c in page.rows]).values_list("pk", flat=True))})


@login_required
def ledger(request):
    """The categorized ledger workbook (分类台账) of the carriers and projects the user reaches."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 — handed to the response, which closes it
    ledgers.write_ledger(request.user, spool, today=_today())
    spool.seek(0)
    return download_response(spool, ledgers.filename(request.user, _today()))


def _carrier_form(request, model, form_class, service, pk=None):
    units = queries.reporting_units(request.user)
    obj = get_in_reach(model, request.user, VIEW, pk=pk) if pk else None
    if obj is None:
        require_somewhere(units, action_label="报送地块" if model is Parcel else "报送楼宇")
    elif model is not Parcel or request.method == "POST":
        require(request.user, obj, CHANGE)
    initial = {}
    if obj is not None:
        initial = {f: getattr(obj, f) for f in form_class.base_fields if f != "unit"}
        initial["unit"] = obj.org_unit_id
    form = form_class(request.POST or None, units=units if obj is None else [obj.org_unit], initial=initial)
    if model is Parcel and obj is not None and not _can(request.user, Parcel, obj):
        # a parcel's page is also where its drawings are read: its particulars are shown, not editable
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        unit = data.pop("unit")
        key = "parcel" if model is Parcel else "building"
        try:
            saved = service(actor=request.user, unit=unit if obj is None else None, **{key: obj}, **data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已保存「{saved.name}」")
            return redirect(reverse("invest:carriers") + ("?kind=buildings" if model is Building else ""))
    label = "地块" if model is Parcel else "楼宇"
    context = {"form": form, "title": f"修改{label}" if obj else f"报送{label}", "back": reverse("invest:carriers")}
    if model is Parcel and obj is not None:
        context.update(parcel=obj, can_change=_can(request.user, Parcel, obj), drawing_form=DrawingForm(),
                       drawings=Drawing.objects.restrict(request.user, VIEW).filter(parcel=obj)
                       .select_related("uploaded_by"))
        return render(request, "invest/parcel.html", context)
    return render(request, "core/form.html", context)


@login_required
def parcel_edit(request, pk=None):
    return _carrier_form(request, Parcel, ParcelForm, services.parcel_save, pk)


@login_required
@require_POST
def drawing_upload(request, pk):
    parcel = get_in_reach(Parcel, request.user, VIEW, pk=pk)
    form = DrawingForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            drawings = services.drawing_upload(actor=request.user, parcel=parcel, uploads=form.cleaned_data["files"])
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"已上传 {len(drawings)} 份规划图纸")
    else:
        messages.error(request, "请选择要上传的图纸")
    return redirect("invest:parcel_edit", pk=parcel.pk)


@login_required
@require_POST
def drawing_remove(request, pk):
    drawing = get_in_reach(Drawing.objects.select_related("parcel"), request.user, VIEW, pk=pk)
    try:
        services.drawing_remove(actor=request.user, drawing=drawing)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"已删除图纸「{drawing.original_name}」")
    return redirect("invest:parcel_edit", pk=drawing.parcel_id)


@login_required
def building_edit(request, pk=None):
    return _carrier_form(request, Building, BuildingForm, services.building_save, pk)


@login_required
def pitch(request, kind, pk):
    """The printable pitch sheet (项目包装) of a parcel, a building or a project."""
    context = queries.pitch_context(request.user, kind, pk)
    context["pdf_ready"] = sheets.font() is not None
    return render(request, "invest/pitch.html", context)


@login_required
def pitch_pdf(request, kind, pk):
    """The pitch sheet as a PDF; without a Chinese font on the server, back to the printable page."""
    context = queries.pitch_context(request.user, kind, pk)
    issuer = context["office"].lead_unit.name if context["office"].lead_unit_id else ""
    try:
        data = sheets.render(sheets.sheet_for(context), upload_root=services.upload_root(), issuer=issuer,
                             today=_today())
    except sheets.NoCjkFont as e:
        messages.warning(request, str(e))
        return redirect("invest:pitch", kind=kind, pk=pk)
    response = HttpResponse(data, content_type="application/pdf")
    filename = f"项目包装-{context['obj'].name}.pdf"
    response["Content-Disposition"] = content_disposition_header(request.GET.get("download") == "1", filename)
    return response


def _month(request) -> date:
    try:
        return date.fromisoformat(request.GET.get("month", "")).replace(day=1)
    except ValueError:
        return _today().replace(day=1)


@login_required
def carrier_reports(request):
    month = _month(request)
    units = queries.reporting_units(request.user)
    form = ReportForm(request.POST or None, units=units, initial={"month": month})
    if request.method == "POST" and form.is_valid():
        try:
            report = services.carrier_report_submit(actor=request.user, unit=form.cleaned_data["unit"],
                                                    month=form.cleaned_data["month"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已上报 {report.period_start:%Y年%m月} 载体情况")
            return redirect(reverse("invest:carrier_report", args=[report.org_unit_id])
                            + f"?month={report.period_start:%Y-%m-%d}")
    rows = queries.report_completeness(request.user, month)
    done = sum(1 for _u, r in rows if r)
    return render(request, "invest/carrier_reports.html", {
        "month": month, "rows": rows, "done": done, "missing": len(rows) - done, "form": form,
        "can_report": bool(units)})


@login_required
def carrier_report(request, unit_pk):
    unit = queries.carrier_unit(request.user, unit_pk)
    month = _month(request)
    diff = queries.report_diff(request.user, unit, month)
    report = queries.report_of(request.user, unit, month)
    return render(request, "invest/carrier_report.html", {"unit": unit, "month": month, "diff": diff,
                                                          "report": report, "prev": queries.previous_month(month)})


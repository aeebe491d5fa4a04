"""Coal pages. Thin: parse, call a service or a scoped query, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from govdesk.core.errors import ServiceError
from govdesk.core.listing import keyset_page
from govdesk.core.models import OrgUnit
from govdesk.core.reach import CHANGE, VIEW, Role, get_in_reach, require, require_somewhere, roles_of
from govdesk.core.views import fail

from . import queries, services
from .forms import (
    AllocationForm,
    AssignForm,
    BatchForm,
    CampaignForm,
    CorrectionForm,
    ExtendForm,
    InspectionForm,
    OfficeForm,
    PlaceForm,
    PostingForm,
)
from .models import (
    Campaign,
    CampaignTask,
    Inspection,
    NoticeAllocation,
    NoticeBatch,
    NoticePosting,
    Photo,
    Place,
    Rectification,
)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _export(request, kind: str, keys: tuple[str, ...], **fixed):
    """A list page's "导出 Excel": the page's rows with its filters, through the tables engine
    (a small table downloads at once, a large one shows the job's progress bar)."""
    from govdesk.core.views_tables import export_page

    filters = {key: request.GET.get(key, "").strip() for key in keys}
    return export_page(request, kind, {**filters, **fixed})


def _export_url(request, keys: tuple[str, ...]) -> str:
    """The query string of the page's export link: its filters, no paging."""
    query = request.GET.copy()
    for key in list(query):
        if key not in keys:
            del query[key]
    query["export"] = "xlsx"
    return "?" + query.urlencode()


PLACE_FILTERS = ("q", "street", "community", "kind", "status")
INSPECTION_FILTERS = ("street", "coal")
RECTIFICATION_FILTERS = ("street", "state")
TASK_FILTERS = ("street", "status")


# --- dashboard -------------------------------------------------------------------------------

@login_required
def dashboard(request):
    user = request.user
    if not queries.coal_roots(user):
        return render(request, "coal/nothing.html")
    weekly = queries.weekly_figures(user)
    per_street = queries.street_figures(user)
    names = [r["street"].name for r in per_street]
    charts = {
        "weekly": queries.bar_chart("每周检查、发现问题与收缴", weekly["weeks"], [
            ("检查", weekly["inspections"]), ("发现问题", weekly["problems"])], line=("收缴（公斤）", weekly["seized"])),
        "streets": queries.bar_chart("近 12 周各街道检查、发现问题与收缴", names, [
            ("检查", [r["inspections"] for r in per_street]), ("发现问题", [r["problems"] for r in per_street])],
            line=("收缴（公斤）", [float(r["seized"]) for r in per_street])),
        "rect": queries.bar_chart("各街道整改情况", names, [
            ("整改中", [r["open"] for r in per_street]), ("逾期", [r["overdue"] for r in per_street]),
            ("已销号", [r["closed"] for r in per_street])], stack=True),
    }
    campaign = queries.campaigns(user).filter(status=Campaign.Status.OPEN).order_by("-launched_at").first()
    progress = queries.campaign_progress(user, campaign) if campaign else []
    if campaign:
        charts["lookback"] = queries.bar_chart(
            f"回头看「{campaign.title}」进度", [r["street__name"] for r in progress],
            [("已复查", [r["done"] for r in progress]), ("待复查", [r["total"] - r["done"] for r in progress])],
            stack=True)
    overdue = queries.rectifications(user, state="overdue").order_by("deadline", "pk")[:20]
    office_form = None
    if Role.DISTRICT_ADMIN in roles_of(user):
        departments = OrgUnit.objects.restrict(user, CHANGE).filter(kind=OrgUnit.Kind.DEPARTMENT,
                                                                    retired_at__isnull=True)
        office_form = OfficeForm(departments=departments)
    return render(request, "coal/dashboard.html", {
        "charts": charts, "per_street": per_street, "campaign": campaign, "progress": progress,
        "totals": queries.progress_totals(progress), "overdue": overdue, "office_form": office_form,
        "work": queries.todays_work(user),
    })


@login_required
@require_POST
def office_designate(request):
    departments = OrgUnit.objects.restrict(request.user, CHANGE).filter(kind=OrgUnit.Kind.DEPARTMENT)
    form = OfficeForm(request.POST, departments=departments)
    if form.is_valid():
        try:
            services.office_designate(actor=request.user, department=form.cleaned_data["department"])
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"已指定「{form.cleaned_data['department'].name}」为散煤办")
    else:
        messages.error(request, "请选择部门")
    return redirect("coal:dashboard")


# --- places ----------------------------------------------------------------------------------

@login_required
def places(request):
    user, params = request.user, request.GET
    if params.get("export") == "xlsx":
        return _export(request, "coal-places", PLACE_FILTERS)
    qs = queries.places(user, search=params.get("q", "").strip(), street=_int(params.get("street")),
                        community=_int(params.get("community")), kind=params.get("kind", ""),
                        status=params.get("status", ""))
    page = keyset_page(qs, params, sorts={"name": "name", "created": "created_at"}, default="name")
    context = {"page": page, "params": params, "streets": queries.streets(user),
               "communities": queries.communities(user), "kinds": Place.Kind.choices,
               "statuses": Place.Status.choices, "can_create": queries.communities(user, CHANGE).exists(),
               "export_url": _export_url(request, PLACE_FILTERS)}
    if request.htmx:
        return render(request, "coal/places.html#results", context)
    return render(request, "coal/places.html", context)


@login_required
def place_create(request):
    communities = queries.communities(request.user, CHANGE)
    require_somewhere(communities, action_label="新增点位")
    form = PlaceForm(request.POST or None, communities=communities)
    if request.method == "POST" and form.is_valid():
        try:
            place = services.place_create(actor=request.user, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已新增点位「{place.name}」")
            return redirect("coal:place", pk=place.pk)
    return render(request, "core/form.html", {"form": form, "title": "新增点位", "back": reverse("coal:places")})


@login_required
def place_detail(request, pk):
    place = get_in_reach(Place.objects.select_related("street", "community"), request.user, VIEW, pk=pk)
    return render(request, "coal/place_detail.html", {
        "place": place, "history": queries.place_history(request.user, place),
        "can_change": queries.can_change(Place, request.user, place),
        "open_rectification": queries.rectifications(request.user).filter(
            place=place, status=Rectification.Status.OPEN).first(),
    })


@login_required
def place_edit(request, pk):
    place = get_in_reach(Place, request.user, VIEW, pk=pk)
    require(request.user, place, CHANGE)  # visible but not changeable: 403 with the reason
    initial = {"community": place.community_id, "name": place.name, "kind": place.kind, "address": place.address,
               "contact_name": place.contact_name}
    form = PlaceForm(request.POST or None, initial=initial,
                     communities=queries.communities(request.user, CHANGE).filter(pk=place.community_id))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.place_update(actor=request.user, place=place, name=data["name"], kind=data["kind"],
                                  address=data["address"], contact_name=data["contact_name"],
                                  contact_phone=data["contact_phone"] or None)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已保存")
            return redirect("coal:place", pk=place.pk)
    return render(request, "core/form.html", {"form": form, "title": f"修改点位：{place.name}",
                                              "back": reverse("coal:place", args=[place.pk])})


@login_required
@require_POST
def place_close_down(request, pk):
    place = get_in_reach(Place, request.user, VIEW, pk=pk)
    try:
        services.place_close_down(actor=request.user, place=place)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"「{place.name}」已标记为关停")
    return redirect("coal:place", pk=place.pk)


# --- inspections -----------------------------------------------------------------------------

@login_required
def inspections(request):
    params = request.GET
    if params.get("export") == "xlsx":
        return _export(request, "coal-ledger", INSPECTION_FILTERS)
    present = {"1": True, "0": False}.get(params.get("coal", ""))
    qs = queries.inspections(request.user, street=_int(params.get("street")), coal_present=present)
    page = keyset_page(qs, params, sorts={"at": "inspected_at"}, default="-at")
    context = {"page": page, "params": params, "streets": queries.streets(request.user),
               "export_url": _export_url(request, INSPECTION_FILTERS)}
    if request.htmx:
        return render(request, "coal/inspections.html#results", context)
    return render(request, "coal/inspections.html", context)


def _photos(request):
    upload = request.FILES.get("photo")
    return [upload] if upload else []


@login_required
def inspection_create(request, pk):
    place = get_in_reach(Place, request.user, VIEW, pk=pk)
    require(request.user, place, CHANGE)  # visible but not changeable: 403 with the reason
    form = InspectionForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            inspection, _ = services.inspection_record(
                actor=request.user, place=place, inspected_at=form.cleaned_data["inspected_at"],
                findings=form.findings(), close=form.cleaned_data["close"], photos=_photos(request),
                client_id=form.cleaned_data.get("client_id"))
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "检查记录已保存")
            return redirect("coal:inspection", pk=inspection.pk)
    return render(request, "core/form.html", {"form": form, "title": f"录入检查：{place.name}", "multipart": True,
                                              "back": reverse("coal:place", args=[place.pk])})


@login_required
def inspection_detail(request, pk):
    inspection = get_in_reach(Inspection.objects.select_related("place", "street", "community", "inspector"),
                              request.user, VIEW, pk=pk)
    can_change = queries.can_change(Inspection, request.user, inspection)
    return render(request, "coal/inspection_detail.html", {
        "inspection": inspection, "photos": queries.photos_of(request.user, inspection),
        "corrections": queries.corrections_of(request.user, inspection),
        "can_change": can_change,
    })


@login_required
def inspection_edit(request, pk):
    inspection = get_in_reach(Inspection, request.user, VIEW, pk=pk)
    require(request.user, inspection, CHANGE)  # visible but not changeable: 403 with the reason
    initial = {name: getattr(inspection, name) for name in InspectionForm.FINDINGS}
    initial["inspected_at"] = timezone.localtime(inspection.inspected_at)
    form = InspectionForm(request.POST or None, request.FILES or None, initial=initial, with_close=False)
    if request.method == "POST" and form.is_valid():
        try:
            services.inspection_update(actor=request.user, inspection=inspection,
                                       inspected_at=form.cleaned_data["inspected_at"], findings=form.findings())
            for upload in _photos(request):
                services.photo_add(actor=request.user, inspection=inspection, upload=upload)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已保存")
            return redirect("coal:inspection", pk=inspection.pk)
    return render(request, "core/form.html", {"form": form, "title": "修改检查记录", "multipart": True,
                                              "back": reverse("coal:inspection", args=[inspection.pk])})


@login_required
@require_POST
def inspection_close(request, pk):
    inspection = get_in_reach(Inspection, request.user, VIEW, pk=pk)
    try:
        services.inspection_close(actor=request.user, inspection=inspection)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "检查记录已办结")
    return redirect("coal:inspection", pk=inspection.pk)


@login_required
def inspection_correct(request, pk):
    inspection = get_in_reach(Inspection, request.user, VIEW, pk=pk)
    require(request.user, inspection, CHANGE)  # visible but not changeable: 403 with the reason
    initial = {name: getattr(inspection, name) for name in CorrectionForm.FINDINGS}
    form = CorrectionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.inspection_correct(actor=request.user, inspection=inspection, findings=form.findings(),
                                        reason=form.cleaned_data["reason"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "更正已保存，原记录已留存")
            return redirect("coal:inspection", pk=inspection.pk)
    return render(request, "core/form.html", {"form": form, "title": "更正检查记录", "submit_label": "提交更正",
                                              "back": reverse("coal:inspection", args=[inspection.pk])})


@login_required
@require_POST
def photo_add(request, pk):
    inspection = get_in_reach(Inspection, request.user, VIEW, pk=pk)
    upload = request.FILES.get("photo")
    if upload is None:
        messages.error(request, "请选择照片")
    else:
        try:
            services.photo_add(actor=request.user, inspection=inspection, upload=upload)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, "照片已上传")
    return redirect("coal:inspection", pk=inspection.pk)


@login_required
def photo_file(request, pk):
    photo = get_in_reach(Photo, request.user, VIEW, pk=pk)
    return FileResponse(photo.file.open("rb"), content_type=photo.content_type)


@login_required
def posting_photo(request, pk):
    posting = get_in_reach(NoticePosting, request.user, VIEW, pk=pk)
    if not posting.photo:
        from govdesk.core.errors import NotInReach
        raise NotInReach()
    return FileResponse(posting.photo.open("rb"), content_type=posting.photo_type)


# --- rectifications ----------------------------------------------------------------------------

@login_required
def rectifications(request):
    params = request.GET
    if params.get("export") == "xlsx":
        return _export(request, "coal-rectifications", RECTIFICATION_FILTERS)
    qs = queries.rectifications(request.user, street=_int(params.get("street")), state=params.get("state", ""))
    page = keyset_page(qs, params, sorts={"deadline": "deadline"}, default="deadline")
    context = {"page": page, "params": params, "streets": queries.streets(request.user),
               "today": timezone.localdate(), "export_url": _export_url(request, RECTIFICATION_FILTERS)}
    if request.htmx:
        return render(request, "coal/rectifications.html#results", context)
    return render(request, "coal/rectifications.html", context)


@login_required
def rectification_extend(request, pk):
    rect = get_in_reach(Rectification.objects.select_related("place"), request.user, VIEW, pk=pk)
    require(request.user, rect, CHANGE)  # visible but not changeable: 403 with the reason
    form = ExtendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.rectification_extend(actor=request.user, rectification=rect, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "整改期限已延长")
            return redirect("coal:place", pk=rect.place_id)
    return render(request, "core/form.html", {"form": form, "title": f"延长整改期限：{rect.place.name}（现期限 {rect.deadline}）",
                                              "back": reverse("coal:place", args=[rect.place_id])})


# --- look-back campaigns -------------------------------------------------------------------------

@login_required
def campaigns(request):
    rows = list(queries.campaigns(request.user).order_by("-launched_at")[:100])
    for c in rows:
        c.totals = queries.progress_totals(queries.campaign_progress(request.user, c))
    return render(request, "coal/campaigns.html", {"campaigns": rows,
                                                   "can_launch": queries.office_districts(request.user).exists()})


@login_required
def campaign_create(request):
    district = queries.office_districts(request.user).first()
    if district is None:
        return render(request, "core/forbidden.html", status=403)
    form = CampaignForm(request.POST or None, streets=queries.streets(request.user).filter(parent=district), initial={"mode": Campaign.Mode.PROBLEMS})
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_launch(actor=request.user, district=district, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已发起回头看，生成 {campaign.tasks.count()} 个复查任务")
            return redirect("coal:campaign", pk=campaign.pk)
    return render(request, "core/form.html", {"form": form, "title": "发起回头看", "submit_label": "发起",
                                              "back": reverse("coal:campaigns")})


@login_required
def campaign_detail(request, pk):
    campaign = get_in_reach(Campaign, request.user, VIEW, pk=pk)
    params = request.GET
    if params.get("export") == "xlsx":
        return _export(request, "coal-campaign-tasks", TASK_FILTERS, campaign=str(campaign.pk))
    progress = queries.campaign_progress(request.user, campaign)
    qs = queries.campaign_tasks(request.user, campaign, street=_int(params.get("street")),
                                status=params.get("status", ""))
    page = keyset_page(qs, params, sorts={"place": "place__name", "community": "community__path"},
                       default="community")
    context = {"campaign": campaign, "progress": progress, "totals": queries.progress_totals(progress),
               "page": page, "params": params, "statuses": CampaignTask.Status.choices,
               "export_url": _export_url(request, TASK_FILTERS),
               "can_close": campaign.status == Campaign.Status.OPEN
               and queries.can_change(Campaign, request.user, campaign)}
    if request.htmx:
        return render(request, "coal/campaign_detail.html#results", context)
    return render(request, "coal/campaign_detail.html", context)


@login_required
def campaign_report(request, pk):
    """The look-back report the city asks for (fixed layout, the user's streets)."""
    from govdesk.core.tables.export import download_response

    from .exports import campaign_report_workbook, report_filename

    campaign = get_in_reach(Campaign.objects.select_related("district"), request.user, VIEW, pk=pk)
    return download_response(campaign_report_workbook(request.user, campaign), report_filename(campaign))


@login_required
@require_POST
def campaign_close(request, pk):
    campaign = get_in_reach(Campaign, request.user, VIEW, pk=pk)
    try:
        services.campaign_close(actor=request.user, campaign=campaign)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "回头看已结束")
    return redirect("coal:campaign", pk=campaign.pk)


@login_required
def task_detail(request, pk):
    task = get_in_reach(CampaignTask.objects.select_related("campaign", "place", "community", "earlier", "result",
                                                            "assignee"), request.user, VIEW, pk=pk)
    can_change = queries.can_change(CampaignTask, request.user, task)
    form = InspectionForm(request.POST or None, request.FILES or None, with_close=False)
    if request.method == "POST":
        task = get_in_reach(CampaignTask, request.user, CHANGE, pk=pk)
        if form.is_valid():
            try:
                services.task_record(actor=request.user, task=task, inspected_at=form.cleaned_data["inspected_at"],
                                     findings=form.findings(), photos=_photos(request))
            except ServiceError as e:
                fail(form, e)
            else:
                messages.success(request, "复查结果已保存")
                return redirect("coal:campaign", pk=task.campaign_id)
    assign_form = AssignForm(people=queries.assignable_people(task), initial={"assignee": task.assignee_id}) \
        if can_change and task.status == CampaignTask.Status.PENDING else None
    return render(request, "coal/task_detail.html", {"task": task, "form": form, "can_change": can_change,
                                                     "assign_form": assign_form})


@login_required
@require_POST
def task_assign(request, pk):
    task = get_in_reach(CampaignTask.objects.select_related("community"), request.user, VIEW, pk=pk)
    form = AssignForm(request.POST, people=queries.assignable_people(task))
    if not form.is_valid():
        messages.error(request, "请选择本街道的工作人员")
    else:
        try:
            services.task_assign(actor=request.user, task=task, assignee=form.cleaned_data["assignee"])
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, "已分派")
    return redirect("coal:task", pk=task.pk)


# --- notices ------------------------------------------------------------------------------------

@login_required
def notices(request):
    district = queries.office_districts(request.user).first()
    form = BatchForm(request.POST or None) if district else None
    if request.method == "POST":
        if form is None:
            return render(request, "core/forbidden.html", status=403)
        if form.is_valid():
            try:
                batch = services.batch_receive(actor=request.user, district=district, **form.cleaned_data)
            except ServiceError as e:
                fail(form, e)
            else:
                messages.success(request, f"已登记通告「{batch.title}」{batch.count} 份")
                return redirect("coal:batch", pk=batch.pk)
    return render(request, "coal/notices.html", {"batches": queries.batches(request.user)[:100], "form": form})


@login_required
def batch_detail(request, pk):
    batch = get_in_reach(NoticeBatch.objects.select_related("district"), request.user, VIEW, pk=pk)
    user = request.user
    can_allocate = queries.can_change(NoticeBatch, user, batch)
    allocation_form = AllocationForm(streets=queries.streets(user).filter(parent=batch.district)) \
        if can_allocate else None
    postable = NoticeAllocation.objects.restrict(user, VIEW).filter(batch=batch).select_related("street")
    postable = [a for a in postable if queries.streets(user, CHANGE).filter(pk=a.street_id).exists()]
    posting_form = None
    if postable:
        units = OrgUnit.objects.none()
        for allocation in postable:
            units = units | queries.units_in_reach(user, OrgUnit.Kind.COMMUNITY, CHANGE).filter(
                path__startswith=allocation.street.path) | queries.units_in_reach(
                user, OrgUnit.Kind.COURTYARD, CHANGE).filter(path__startswith=allocation.street.path)
        posting_form = PostingForm(units=units.select_related("parent").order_by("path"))
    street = None
    if request.GET.get("street"):
        street = queries.streets(user).filter(pk=_int(request.GET["street"])).first()
    coverage = queries.batch_coverage(user, batch)
    allocated = sum(r["allocated"] for r in coverage)
    return render(request, "coal/batch_detail.html", {
        "batch": batch, "coverage": coverage, "allocation_form": allocation_form,
        "allocated": allocated, "unallocated": batch.count - allocated if can_allocate else None,
        "posting_form": posting_form, "postings": queries.postings(user, batch, street=street)[:200],
        "uncovered": queries.uncovered_courtyards(user, batch, street=street)[:300], "street": street,
    })


@login_required
@require_POST
def allocation_set(request, pk):
    batch = get_in_reach(NoticeBatch, request.user, VIEW, pk=pk)
    form = AllocationForm(request.POST, streets=queries.streets(request.user).filter(parent=batch.district_id))
    if not form.is_valid():
        messages.error(request, "请选择街道并填写份数")
    else:
        try:
            services.allocation_set(actor=request.user, batch=batch, **form.cleaned_data)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"已分配给{form.cleaned_data['street'].name} {form.cleaned_data['count']} 份")
    return redirect("coal:batch", pk=batch.pk)


@login_required
@require_POST
def posting_create(request, pk):
    batch = get_in_reach(NoticeBatch, request.user, VIEW, pk=pk)
    units = (queries.units_in_reach(request.user, OrgUnit.Kind.COMMUNITY, CHANGE)
             | queries.units_in_reach(request.user, OrgUnit.Kind.COURTYARD, CHANGE))
    form = PostingForm(request.POST, request.FILES, units=units)
    if not form.is_valid():
        messages.error(request, "请完整填写张贴信息：" + "；".join(
            f"{form.fields[k].label}{v[0]}" for k, v in form.errors.items() if k in form.fields))
        return redirect("coal:batch", pk=batch.pk)
    unit = form.cleaned_data["unit"]
    allocation = NoticeAllocation.objects.restrict(request.user, VIEW).filter(
        batch=batch, street__in=[a for a in queries.streets(request.user) if unit.path.startswith(a.path)]).first()
    if allocation is None:
        messages.error(request, "该街道尚未分到这批通告")
        return redirect("coal:batch", pk=batch.pk)
    try:
        services.posting_record(actor=request.user, allocation=allocation, unit=unit,
                                count=form.cleaned_data["count"], location=form.cleaned_data["location"],
                                posted_on=form.cleaned_data["posted_on"], photo=form.cleaned_data["photo"])
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"已登记在「{unit.name}」张贴 {form.cleaned_data['count']} 份")
    return redirect("coal:batch", pk=batch.pk)


# --- weekly periodic report --------------------------------------------------------------------

def _week(request):
    from datetime import date, timedelta

    from govdesk.core.periods import period_start_of
    try:
        return period_start_of("week", date.fromisoformat(request.GET.get("week") or request.POST.get("week", "")))
    except ValueError:
        return period_start_of("week", timezone.localdate() - timedelta(days=7))


WEEKLY_LABELS = [("inspections", "检查"), ("problems", "发现问题"), ("seized_kg", "收缴（公斤）"),
                 ("rectification_orders", "下达整改"), ("confirmed", "整改销号"), ("open_at_end", "周末仍在整改"),
                 ("overdue_at_end", "周末逾期"), ("referred", "移交执法")]


@login_required
def reports(request):
    from datetime import timedelta
    week = _week(request)
    rows = [(street, report, [report.data.get(key, "") if report else "" for key, _label in WEEKLY_LABELS])
            for street, report in queries.weekly_completeness(request.user, week)]
    mine = []
    for street in queries.streets(request.user, CHANGE)[:20]:
        summary = queries.weekly_summary(request.user, street, week)
        mine.append((street, [(label, summary[key]) for key, label in WEEKLY_LABELS]))
    return render(request, "coal/reports.html", {
        "week": week, "week_end": week + timedelta(days=6), "prev": week - timedelta(days=7),
        "next": week + timedelta(days=7), "rows": rows, "labels": WEEKLY_LABELS, "mine": mine,
        "missing": sum(1 for _s, r, _v in rows if r is None),
    })


@login_required
@require_POST
def report_submit(request):
    week = _week(request)
    street = queries.streets(request.user).filter(pk=_int(request.POST.get("street"))).first()
    if street is None:
        from govdesk.core.errors import NotInReach
        raise NotInReach()
    try:
        services.weekly_report_submit(actor=request.user, street=street, week_start=week)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"已报送{street.name} {week} 起一周的散煤治理周报")
    return redirect(f"{reverse('coal:reports')}?week={week.isoformat()}")

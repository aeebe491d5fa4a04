"""Veterans pages. Thin: parse, call a service or a scoped query, render."""

from __future__ import annotations

from datetime import date, timedelta

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from govdesk.core import personal
from govdesk.core.errors import NotInReach, ServiceError
from govdesk.core.listing import keyset_page
from govdesk.core.reach import CHANGE, VIEW, get_in_reach, require, require_somewhere
from govdesk.core.views import fail

from . import imports, progress, queries, services
from .forms import (
    AttachmentForm,
    BookForm,
    ChangeRequestForm,
    CheckInForm,
    ExpectedForm,
    PointForm,
    RecordForm,
    ReturnForm,
)
from .models import (
    REVIEWERS,
    Appointment,
    Attachment,
    ChangeRequest,
    CollectionPoint,
    Record,
    Slot,
)

RECORD_FIELDS = [name for name in RecordForm.base_fields]


def _record_initial(request, record: Record) -> dict:
    """The edit form's values: on a GET the ID and phone in clear, which is an audited unmasking
    (``services.record_form_values``); a POSTed form carries its own values."""
    if request.method != "GET":
        return {}
    return services.record_form_values(actor=request.user, record=record)


def _record_data(form) -> dict:
    return {k: form.cleaned_data.get(k) for k in RECORD_FIELDS}


def _parse_day(raw, default: date) -> date:
    try:
        return date.fromisoformat(raw or "")
    except ValueError:
        return default


def _may(user, model, obj, roles) -> bool:
    q = model.reach_q_roles(user, roles)
    return q is not None and model.objects.filter(q, pk=obj.pk).exists()


# --- dashboard -------------------------------------------------------------------------------------

@login_required
def dashboard(request):
    data = progress.dashboard(request.user)
    return render(request, "veterans/dashboard.html", {
        "data": data, "charts": progress.charts(data),
        "returned": queries.my_returned(request.user).select_related("org_unit")[:20],
        "pending_changes": queries.pending_changes(request.user).select_related("record")[:20],
    })


def overview_card(user):
    records = Record.objects.restrict(user, VIEW)
    if records.query.is_empty():
        return None
    data = progress.dashboard(user, days=7)
    if not data["streets"] and not data["total"]["collected"]:
        return None
    charts = progress.charts(data)
    return {"title": "退役军人信息采集", "url": reverse("veterans:dashboard"),
            "figures": [("应采集", data["expected"]), ("已采集", data["total"]["collected"]),
                        ("已审核", data["total"]["reviewed"]), ("已归档", data["total"]["archived"]),
                        ("进度落后街道", len(data["behind"]))],
            "chart": charts["days"]}


@login_required
def expected(request):
    streets = queries.streets_in_reach(request.user, services.ExpectedBase.reach.roles_for(CHANGE))
    form = ExpectedForm(request.POST or None, streets=streets)
    if request.method == "POST" and form.is_valid():
        try:
            services.expected_set(actor=request.user, street=form.cleaned_data["street"],
                                  expected=form.cleaned_data["expected"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已保存「{form.cleaned_data['street'].name}」的应采集基数")
            return redirect("veterans:expected")
    return render(request, "veterans/expected.html", {"form": form, "data": progress.dashboard(request.user),
                                                      "can_change": streets.exists()})


# --- records ------------------------------------------------------------------------------------------

@login_required
def records(request):
    params = request.GET
    qs = queries.records_visible(request.user, status=params.get("status", ""),
                                 street=params.get("street") if (params.get("street") or "").isdigit() else None,
                                 q=params.get("q", ""))
    page = keyset_page(qs.select_related("org_unit", "street", "category", "collector"), params,
                       sorts={"id": "id", "name": "name"}, default="-id")
    context = {"page": page, "statuses": Record.Status.choices, "params": params,
               "streets": queries.streets_in_reach(request.user),
               "can_unmask_export": imports.records_may_unmask(request.user)}
    if request.htmx:
        return render(request, "veterans/records.html#results", context)
    return render(request, "veterans/records.html", context)


@login_required
@require_POST
def records_export(request):
    """导出 Excel: the list page's rows with its filters, through the tables engine."""
    from govdesk.core.tables.jobs import table_job_start

    filters = {k: request.POST.get(k, "") for k in ("status", "street", "q") if request.POST.get(k)}
    try:
        job = table_job_start(actor=request.user, direction="export", kind="veterans-records", filters=filters,
                              unmask=request.POST.get("unmask") == "1")
    except ServiceError as e:
        messages.error(request, e.message)
        return redirect("veterans:records")
    return redirect(reverse("core:table_job", args=[job.pk]))


@login_required
def record_new(request):
    appointment = None
    initial = {}
    if request.GET.get("appointment"):
        appointment = get_in_reach(Appointment, request.user, CHANGE, pk=request.GET["appointment"])
        initial = {"name": appointment.name, "id_number": personal.decrypt(appointment.id_number_enc),
                   "phone": personal.decrypt(appointment.phone_enc)}
    communities = queries.units_for_records(request.user)
    require_somewhere(communities, action_label="采集信息")
    form = RecordForm(request.POST or None, initial=initial, communities=communities)
    if request.method == "POST" and form.is_valid():
        try:
            record = services.record_create(actor=request.user, data=_record_data(form), appointment=appointment)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已保存「{record.name}」的采集信息，请上传扫描件后提交审核")
            return redirect("veterans:record", pk=record.pk)
    return render(request, "veterans/record_form.html", {
        "form": form, "title": "采集信息" + (f"：{appointment.name}（预约码 {appointment.code}）" if appointment else ""),
        "back": reverse("veterans:records")})


@login_required
def record_detail(request, pk):
    record = get_in_reach(Record.objects.select_related("org_unit", "street", "category", "collector", "point"),
                          request.user, VIEW, pk=pk)
    can_change = Record.objects.restrict(request.user, CHANGE).filter(pk=record.pk).exists()
    return render(request, "veterans/record_detail.html", {
        "record": record, "can_change": can_change,
        "can_review": _may(request.user, Record, record, REVIEWERS),
        "can_unmask": services.may_unmask_record(request.user, record),
        "attachments": record.attachments.all(),
        "missing": [Attachment.Kind(k).label for k in services._attachments_missing(record)],
        "changes": ChangeRequest.objects.restrict(request.user, VIEW).filter(record=record)
        .select_related("requested_by", "decided_by"),
        "attachment_form": AttachmentForm(), "return_form": ReturnForm(),
        "unmasked": request.session.pop(f"veterans-unmask-{record.pk}", None),
    })


@login_required
def record_edit(request, pk):
    record = get_in_reach(Record.objects.select_related("org_unit", "category"), request.user, VIEW, pk=pk)
    require(request.user, record, CHANGE)  # visible but not changeable: 403 with the reason
    if record.status == Record.Status.ARCHIVED:
        return redirect("veterans:change_request", pk=record.pk)
    form = RecordForm(request.POST or None, initial=_record_initial(request, record),
                      communities=queries.units_for_records(request.user))
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            base = int(request.POST.get("base_version", "0"))
            services.record_update(actor=request.user, record=record, data=_record_data(form), base_version=base)
        except services.VersionConflict as e:
            conflict = e
            form.add_error(None, e.message)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已保存修改")
            return redirect("veterans:record", pk=record.pk)
    return render(request, "veterans/record_form.html", {
        "form": form, "title": f"修改：{record.name}", "record": record, "conflict": conflict,
        "conflict_rows": [(services.LABELS.get(k, k), v) for k, v in conflict.current.items() if k != "version"]
        if conflict else [],
        "back": reverse("veterans:record", args=[record.pk])})


@login_required
@require_POST
def record_action(request, pk, action):
    record = get_in_reach(Record, request.user, VIEW, pk=pk)
    calls = {
        "submit": (services.record_submit, "已提交审核"),
        "review": (services.record_review, "已审核通过"),
        "archive": (services.record_archive, "已归档"),
    }
    try:
        if action == "return":
            services.record_return(actor=request.user, record=record, reason=request.POST.get("reason", ""))
            messages.success(request, "已退回采集员修改")
        elif action in calls:
            call, done = calls[action]
            call(actor=request.user, record=record)
            messages.success(request, done)
        else:
            raise NotInReach()
    except ServiceError as e:
        messages.error(request, e.message)
    return redirect("veterans:record", pk=record.pk)


@login_required
@require_POST
def record_unmask(request, pk, field):
    record = get_in_reach(Record, request.user, VIEW, pk=pk)
    try:
        value = services.record_unmask(actor=request.user, record=record, field=field)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        # shown once on the next page view, never put in a URL
        request.session[f"veterans-unmask-{record.pk}"] = {"field": services.LABELS[field], "value": value}
    return redirect("veterans:record", pk=record.pk)


@login_required
def change_request(request, pk):
    record = get_in_reach(Record.objects.select_related("org_unit", "category"), request.user, VIEW, pk=pk)
    require(request.user, record, CHANGE)  # visible but not changeable: 403 with the reason
    form = ChangeRequestForm(request.POST or None, initial=_record_initial(request, record),
                             communities=queries.units_for_records(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            services.change_request_create(actor=request.user, record=record, data=_record_data(form),
                                           reason=form.cleaned_data["reason"],
                                           base_version=int(request.POST.get("base_version", "0")))
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已提交变更申请，待审核人批准")
            return redirect("veterans:record", pk=record.pk)
    return render(request, "veterans/record_form.html", {
        "form": form, "title": f"变更申请：{record.name}", "record": record,
        "back": reverse("veterans:record", args=[record.pk])})


@login_required
@require_POST
def change_decide(request, pk, decision):
    change = get_in_reach(ChangeRequest.objects.select_related("record"), request.user, VIEW, pk=pk)
    if decision not in ("approve", "reject"):
        raise NotInReach()
    try:
        services.change_request_decide(actor=request.user, change=change, approve=decision == "approve",
                                       note=request.POST.get("note", ""))
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "已批准变更" if decision == "approve" else "已驳回变更申请")
    return redirect("veterans:record", pk=change.record_id)


# --- attachments ---------------------------------------------------------------------------------------

@login_required
@require_POST
def attachment_upload(request, pk):
    record = get_in_reach(Record, request.user, VIEW, pk=pk)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "请选择材料类型和文件")
        return redirect("veterans:record", pk=record.pk)
    upload = form.cleaned_data["file"]
    if upload.size > services.ATTACHMENT_MAX_BYTES:
        messages.error(request, f"文件不能超过 {services.ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB")
        return redirect("veterans:record", pk=record.pk)
    try:
        _attachment, created = services.attachment_add(actor=request.user, record=record,
                                                       kind=form.cleaned_data["kind"], filename=upload.name,
                                                       content=upload.read())
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "已上传" if created else "该文件已上传过")
    return redirect("veterans:record", pk=record.pk)


@login_required
def attachment_download(request, pk):
    attachment = get_in_reach(Attachment.objects.select_related("record__org_unit"), request.user, VIEW, pk=pk)
    path = services.attachment_open(actor=request.user, attachment=attachment)
    response = FileResponse(path.open("rb"), content_type=attachment.content_type,
                            filename=attachment.original_name)
    response["Cache-Control"] = "private, no-store"
    return response


# --- collection points and appointments -----------------------------------------------------------

@login_required
def points(request):
    can_create = queries.streets_in_reach(request.user, CollectionPoint.reach.roles_for(CHANGE)).exists()
    return render(request, "veterans/points.html", {
        "points": queries.points_visible(request.user).order_by("org_unit__path", "name"), "can_create": can_create})


@login_required
def point_new(request):
    units = queries.units_for_points(request.user)
    require_somewhere(units, action_label="设立采集点")
    form = PointForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            point = services.point_create(actor=request.user, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已设立采集点「{point.name}」")
            return redirect("veterans:point", pk=point.pk)
    return render(request, "core/form.html", {"form": form, "title": "设立采集点", "back": reverse("veterans:points")})


@login_required
def point_detail(request, pk):
    point = get_in_reach(CollectionPoint.objects.select_related("org_unit"), request.user, VIEW, pk=pk)
    today = timezone.localdate()
    first = max(today, _parse_day(request.GET.get("from"), today))
    slots = queries.slots_of(request.user, point, first, days=7)
    days = {}
    for slot in slots:
        days.setdefault(slot.day, []).append(slot)
    return render(request, "veterans/point_detail.html", {
        "point": point, "days": days, "first": first, "next_week": first + timedelta(days=7),
        "can_change": CollectionPoint.objects.restrict(request.user, CHANGE).filter(pk=point.pk).exists(),
        "appointments": queries.appointments_visible(request.user, point=point, day=today)})


@login_required
@require_POST
def point_open_days(request, pk):
    point = get_in_reach(CollectionPoint, request.user, VIEW, pk=pk)
    first = _parse_day(request.POST.get("from"), timezone.localdate())
    try:
        n = services.point_open_days(actor=request.user, point=point, first=first, days=7)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"已开放 {n} 个时段" if n else "这些日期的时段已开放")
    return redirect(f"{reverse('veterans:point', args=[point.pk])}?from={first.isoformat()}")


@login_required
def book(request, slot_pk):
    slot = get_in_reach(Slot.objects.select_related("point"), request.user, VIEW, pk=slot_pk)
    require(request.user, slot, CHANGE)  # visible but not changeable: 403 with the reason
    form = BookForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.appointment_book(actor=request.user, slot=slot, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"预约成功，预约码 {appointment.code}")
            return redirect("veterans:appointment", pk=appointment.pk)
    return render(request, "core/form.html", {
        "form": form, "title": f"预约：{slot.point.name} {slot.day:%Y-%m-%d} {slot}", "submit_label": "预约",
        "back": reverse("veterans:point", args=[slot.point_id])})


@login_required
def appointments(request):
    day = _parse_day(request.GET.get("day"), timezone.localdate())
    qs = queries.appointments_visible(request.user, day=day, status=request.GET.get("status", ""),
                                      q=request.GET.get("q", ""))
    page = keyset_page(qs, request.GET, sorts={"id": "id"}, default="id")
    return render(request, "veterans/appointments.html", {"page": page, "day": day, "params": request.GET,
                                                          "statuses": Appointment.Status.choices})


@login_required
def appointment_detail(request, pk):
    appointment = get_in_reach(Appointment.objects.select_related("slot", "point", "record"), request.user, VIEW,
                               pk=pk)
    today = timezone.localdate()
    other_slots = [s for s in queries.slots_of(request.user, appointment.point, today, days=7)
                   if s.left and s.pk != appointment.slot_id] if appointment.status == "booked" else []
    return render(request, "veterans/appointment_detail.html", {
        "a": appointment, "qr": segno.make(f"GDVA:{appointment.code}").svg_inline(scale=6),
        "can_change": Appointment.objects.restrict(request.user, CHANGE).filter(pk=appointment.pk).exists(),
        "is_today": appointment.slot.day == today, "other_slots": other_slots})


@login_required
@require_POST
def appointment_action(request, pk, action):
    appointment = get_in_reach(Appointment, request.user, VIEW, pk=pk)
    try:
        if action == "cancel":
            services.appointment_cancel(actor=request.user, appointment=appointment)
            messages.success(request, "已取消预约")
        elif action == "rebook":
            slot = get_in_reach(Slot, request.user, CHANGE, pk=request.POST.get("slot"))
            services.appointment_rebook(actor=request.user, appointment=appointment, slot=slot)
            messages.success(request, "已改约")
        elif action == "checkin":
            services.appointment_check_in(actor=request.user, appointment=appointment)
            messages.success(request, f"{appointment.name} 已签到，请开始采集")
            return redirect(f"{reverse('veterans:record_new')}?appointment={appointment.pk}")
        else:
            raise NotInReach()
    except ServiceError as e:
        messages.error(request, e.message)
    return redirect("veterans:appointment", pk=appointment.pk)


@login_required
def checkin(request):
    form = CheckInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = personal.fold(form.cleaned_data["code"]).upper().removeprefix("GDVA:")
        appointment = queries.appointments_visible(request.user).filter(code=code).first()
        if appointment is None:
            form.add_error("code", "没有找到该预约码，或不在您的采集点")
        else:
            return redirect("veterans:appointment", pk=appointment.pk)
    return render(request, "core/form.html", {"form": form, "title": "预约签到", "submit_label": "查找预约"})


@login_required
def board(request):
    day = _parse_day(request.GET.get("day"), timezone.localdate())
    rows = queries.load_board(request.user, day)
    context = {"rows": rows, "day": day}
    if request.htmx:
        return render(request, "veterans/board.html#results", context)
    return render(request, "veterans/board.html", context)

"""Pages of the upward report and the campaign's organisation. Thin: parse, call a service
or a scoped query, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from govdesk.core.errors import NotInReach, ServiceError
from govdesk.core.models import OrgUnit, User
from govdesk.core.reach import CHANGE, VIEW, get_in_reach, require_somewhere
from govdesk.core.views import fail

from . import organisation, progress
from .forms_campaign import (
    AnswerForm,
    AttendanceForm,
    MemberForm,
    OfficeForm,
    QuestionForm,
    ReportForm,
    TeamForm,
    TrainingForm,
)
from .models import ORGANISERS, WORKERS, Attendance, Question, Team, TeamMember, Training, reach_paths

K = OrgUnit.Kind
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _can_organise(user, model, obj=None) -> bool:
    if obj is None:
        return bool(reach_paths(user, ORGANISERS))
    return model.objects.restrict(user, CHANGE).filter(pk=obj.pk).exists()


# --- the upward report ---------------------------------------------------------------------------

@login_required
def progress_report(request):
    """上报市局: the fixed-layout workbook for the week or month (GET: the form, or the file)."""
    if not progress.streets_of(request.user):
        raise NotInReach()
    form = ReportForm(request.GET or None, initial={"period": "week"})
    if "period" not in request.GET:
        return render(request, "veterans/report_form.html", {"form": form})
    if not form.is_valid():
        return render(request, "veterans/report_form.html", {"form": form})
    try:
        name, content = progress.city_report(actor=request.user, period=form.cleaned_data["period"],
                                             day=form.cleaned_data.get("day"))
    except ServiceError as e:
        fail(form, e)
        return render(request, "veterans/report_form.html", {"form": form})
    response = HttpResponse(content, content_type=XLSX)
    from urllib.parse import quote
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


# --- organisation: teams, offices, trainings -------------------------------------------------------

@login_required
def organisation_page(request):
    user = request.user
    teams = list(organisation.teams_visible(user))
    changeable = set(Team.objects.restrict(user, CHANGE).filter(pk__in=[t.pk for t in teams])
                     .values_list("pk", flat=True))
    return render(request, "veterans/organisation.html", {
        "teams": teams, "changeable": changeable, "member_form": MemberForm(),
        "offices": organisation.offices_visible(user), "trainings": organisation.trainings_visible(user)[:50],
        "trained": organisation.trained_people(user), "target": organisation.TRAINING_TARGET,
        "can_organise": _can_organise(user, Team),
    })


@login_required
def team_new(request):
    units = organisation.units_for_organising(request.user, [K.DISTRICT, K.DEPARTMENT, K.STREET])
    require_somewhere(units, action_label="设立工作组")
    form = TeamForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            team = organisation.team_create(actor=request.user, unit=form.cleaned_data["unit"],
                                            kind=form.cleaned_data["kind"], name=form.cleaned_data["name"],
                                            duty=form.cleaned_data["duty"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已设立「{team.name}」")
            return redirect("veterans:organisation")
    return render(request, "core/form.html", {"form": form, "title": "设立工作组",
                                              "back": reverse("veterans:organisation")})


@login_required
@require_POST
def team_member_add(request, pk):
    team = get_in_reach(Team, request.user, VIEW, pk=pk)
    form = MemberForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请填写成员姓名")
    else:
        try:
            organisation.team_member_add(actor=request.user, team=team, **form.cleaned_data)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"已将「{form.cleaned_data['name']}」加入{team.name}")
    return redirect(f"{reverse('veterans:organisation')}#team-{team.pk}")


@login_required
@require_POST
def team_member_remove(request, pk):
    member = get_in_reach(TeamMember.objects.select_related("team"), request.user, VIEW, pk=pk)
    try:
        organisation.team_member_remove(actor=request.user, member=member)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"已将「{member.name}」移出{member.team.name}")
    return redirect(f"{reverse('veterans:organisation')}#team-{member.team_id}")


def _liaison_candidates(user, streets):
    q = Q()
    for street in streets:
        q |= Q(memberships__org_unit__path__startswith=street.path)
    if not streets:
        return User.objects.none()
    ids = User.objects.filter(q, memberships__role__in=WORKERS, is_active=True).values("id")
    return User.objects.filter(id__in=ids).order_by("display_name", "username")


@login_required
def office_new(request):
    streets = list(organisation.units_for_organising(request.user, [K.STREET]))
    require_somewhere(streets, action_label="设置街道采集办公室")
    form = OfficeForm(request.POST or None, streets=OrgUnit.objects.filter(pk__in=[s.pk for s in streets])
                      .order_by("path"), people=_liaison_candidates(request.user, streets))
    if request.method == "POST" and form.is_valid():
        try:
            office = organisation.office_set(actor=request.user, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已保存「{office.org_unit.name}」采集办公室")
            return redirect("veterans:organisation")
    return render(request, "core/form.html", {"form": form, "title": "街道采集办公室与联络员",
                                              "back": reverse("veterans:organisation")})


@login_required
def training_new(request):
    units = organisation.units_for_organising(request.user, [K.DISTRICT, K.DEPARTMENT, K.STREET, K.COMMUNITY])
    require_somewhere(units, action_label="登记培训")
    form = TrainingForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            training = organisation.training_create(actor=request.user, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已登记培训「{training.title}」，请登记参训人员")
            return redirect("veterans:training", pk=training.pk)
    return render(request, "core/form.html", {"form": form, "title": "登记培训",
                                              "back": reverse("veterans:organisation")})


@login_required
def training_detail(request, pk):
    training = get_in_reach(Training.objects.select_related("org_unit"), request.user, VIEW, pk=pk)
    can_change = _can_organise(request.user, Training, training)
    units = organisation.units_for_organising(request.user, [K.DISTRICT, K.DEPARTMENT, K.STREET, K.COMMUNITY])
    form = AttendanceForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            added = organisation.attendance_add(actor=request.user, training=training, unit=form.cleaned_data["unit"],
                                                names=form.cleaned_data["names"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已登记 {added} 人" if added else "这些人员已登记过")
            return redirect("veterans:training", pk=training.pk)
    return render(request, "veterans/training_detail.html", {
        "training": training, "can_change": can_change, "form": form,
        "attendances": Attendance.objects.restrict(request.user, VIEW).filter(training=training)
        .select_related("org_unit")})


@login_required
@require_POST
def attendance_remove(request, pk):
    attendance = get_in_reach(Attendance.objects.select_related("training"), request.user, VIEW, pk=pk)
    try:
        organisation.attendance_remove(actor=request.user, attendance=attendance)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"已删除「{attendance.name}」的签到")
    return redirect("veterans:training", pk=attendance.training_id)


# --- the Q&A log and the FAQ ------------------------------------------------------------------------

@login_required
def questions(request):
    units = organisation.units_for_organising(request.user, [K.DISTRICT, K.DEPARTMENT, K.STREET, K.COMMUNITY])
    form = QuestionForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        try:
            organisation.question_log(actor=request.user, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已登记答疑记录")
            return redirect("veterans:questions")
    unanswered = request.GET.get("unanswered") == "1"
    return render(request, "veterans/questions.html", {
        "form": form, "can_log": units.exists(), "unanswered": unanswered,
        "items": organisation.questions_visible(request.user, unanswered=unanswered)[:200]})


@login_required
def question_detail(request, pk):
    item = get_in_reach(Question.objects.select_related("org_unit", "answered_by"), request.user, VIEW, pk=pk)
    form = AnswerForm(request.POST or None, initial={"answer": item.answer, "publish": item.published})
    if request.method == "POST" and form.is_valid():
        try:
            organisation.question_answer(actor=request.user, question=item, answer=form.cleaned_data["answer"],
                                         publish=form.cleaned_data["publish"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已保存解答")
            return redirect("veterans:question", pk=item.pk)
    return render(request, "veterans/question_detail.html", {
        "item": item, "form": form, "can_change": _can_organise(request.user, Question, item)})


@login_required
def faq(request):
    q = request.GET.get("q", "")
    context = {"items": organisation.faq(request.user, q)[:100], "q": q}
    if request.htmx:
        return render(request, "veterans/faq.html#results", context)
    return render(request, "veterans/faq.html", context)

"""Competition pages. Thin: parse, call a service or a scoped query, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from govdesk.core.errors import Forbidden, ServiceError
from govdesk.core.listing import keyset_page
from govdesk.core.reach import CHANGE, VIEW, Role, get_in_reach, require, require_somewhere, roles_of
from govdesk.core.views import fail
from govdesk.core.views_tables import export_page

from . import queries, services
from .forms import (
    CompetitionForm,
    ContestantForm,
    DrawForm,
    EnterForm,
    EventForm,
    ItemForm,
    JudgeForm,
    PanelForm,
    ReasonForm,
)
from .models import Appeal, Competition, Contestant, Correction, Event, ResultRow, RubricItem, Sheet

# --- competitions ------------------------------------------------------------------------------

@login_required
def dashboard(request):
    user = request.user
    page = keyset_page(queries.competitions_visible(user), request.GET,
                       sorts={"starts": "starts_on", "name": "name"}, default="-starts")
    return render(request, "contest/dashboard.html", {
        "page": page,
        "can_create": queries.organiser_units(user).exists(),
        "my_open_sheets": queries.sheets_of_judge(user).filter(status=Sheet.Status.OPEN).count()
        if Role.JUDGE in roles_of(user) else None,
        "awaiting": queries.corrections_awaiting(user),
        "has_results": queries.published_results(user).exists(),
    })


@login_required
def competition_create(request):
    units = queries.organiser_units(request.user)
    require_somewhere(units, action_label="新建竞赛")
    form = CompetitionForm(request.POST or None, units=units)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            competition = services.competition_create(actor=request.user, **data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已创建「{competition.name}」")
            return redirect("contest:competition", pk=competition.pk)
    return render(request, "core/form.html", {"form": form, "title": "新建竞赛"})


@login_required
def competition_detail(request, pk):
    competition = get_in_reach(Competition, request.user, VIEW, pk=pk)
    return render(request, "contest/competition.html", {
        "competition": competition,
        "events": queries.events_of(request.user, competition).select_related("chief_judge__user"),
        "contestants": competition.contestants.restrict(request.user).select_related("institution")
        .prefetch_related("entries__event"),
        "judges": queries.judges_of(request.user, competition),
        "can_organise": services.can_organise(request.user, competition),
        "supervises": services.supervises(request.user, competition),
        "appeals": queries.appeals_visible(request.user, competition),
    })


@login_required
def competition_edit(request, pk):
    competition = get_in_reach(Competition, request.user, VIEW, pk=pk)
    require(request.user, competition, CHANGE)  # the service's check, before the form is shown
    initial = {k: getattr(competition, k) for k in services.COMPETITION_FIELDS}
    form = CompetitionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.competition_update(actor=request.user, competition=competition, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已保存")
            return redirect("contest:competition", pk=competition.pk)
    return render(request, "core/form.html", {"form": form, "title": f"修改：{competition.name}"})


@login_required
def event_create(request, pk):
    competition = get_in_reach(Competition, request.user, VIEW, pk=pk)
    require(request.user, competition, CHANGE)  # the service's check, before the form is shown
    form = EventForm(request.POST or None, initial={"order": competition.events.count() + 1})
    if request.method == "POST" and form.is_valid():
        try:
            event = services.event_create(actor=request.user, competition=competition, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已新增项目「{event.name}」，请制定评分标准")
            return redirect("contest:event", pk=event.pk)
    return render(request, "core/form.html", {"form": form, "title": f"{competition.name} · 新增项目"})


@login_required
def contestant_create(request, pk):
    competition = get_in_reach(Competition, request.user, VIEW, pk=pk)
    require(request.user, competition, CHANGE)  # the service's check, before the form is shown
    form = ContestantForm(request.POST or None, institutions=queries.institutions_for(competition),
                          events=queries.events_of(request.user, competition).filter(status=Event.Status.SETUP))
    if request.method == "POST" and form.is_valid():
        try:
            contestant = services.contestant_add(actor=request.user, competition=competition,
                                                 name=form.cleaned_data["name"],
                                                 institution=form.cleaned_data["institution"],
                                                 events=list(form.cleaned_data["events"]))
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已登记选手 {contestant.code} {contestant.name}")
            return redirect("contest:competition", pk=competition.pk)
    return render(request, "core/form.html", {"form": form, "title": f"{competition.name} · 登记选手"})


@login_required
def contestant_enter(request, pk):
    contestant = get_in_reach(Contestant.objects.select_related("competition"), request.user, VIEW, pk=pk)
    competition = contestant.competition
    require(request.user, competition, CHANGE)
    events = queries.events_of(request.user, competition).filter(status=Event.Status.SETUP).exclude(
        entries__contestant=contestant)
    form = EnterForm(request.POST or None, events=events)
    if request.method == "POST" and form.is_valid():
        try:
            services.contestant_enter(actor=request.user, contestant=contestant, event=form.cleaned_data["event"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"{contestant.name} 已报名「{form.cleaned_data['event'].name}」")
            return redirect("contest:competition", pk=competition.pk)
    return render(request, "core/form.html", {"form": form, "title": f"{contestant.code} {contestant.name} · 报名其他项目"})


@login_required
def judge_create(request, pk):
    competition = get_in_reach(Competition, request.user, VIEW, pk=pk)
    require(request.user, competition, CHANGE)  # the service's check, before the form is shown
    form = JudgeForm(request.POST or None, users=services.judge_candidates(competition),
                     institutions=queries.institutions_for(competition))
    if request.method == "POST" and form.is_valid():
        try:
            judge = services.judge_add(actor=request.user, competition=competition, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, f"已聘请评委 {judge}")
            return redirect("contest:competition", pk=competition.pk)
    return render(request, "core/form.html", {"form": form, "title": f"{competition.name} · 聘请评委"})


# --- events -----------------------------------------------------------------------------------

def _event(request, pk) -> Event:
    return get_in_reach(Event.objects.select_related("competition__org_unit", "chief_judge__user"),
                        request.user, VIEW, pk=pk)


@login_required
def event_detail(request, pk):
    event = _event(request, pk)
    can_organise = services.can_organise(request.user, event.competition)
    panel = list(event.panel.select_related("judge__user", "judge__institution"))
    entries = list(queries.entries_of(request.user, event))
    recusals = [(p.judge, e) for e in entries if e.advanced for p in panel if services.recused(p.judge, e)]
    return render(request, "contest/event.html", {
        "event": event, "competition": event.competition, "can_organise": can_organise,
        "can_setup": can_organise and event.status in (Event.Status.SETUP, Event.Status.ADVANCED),
        "items": event.items.all(), "item_form": ItemForm(),
        "entries": entries, "panel": panel, "recusals": recusals,
    })


@login_required
def event_edit(request, pk):
    event = _event(request, pk)
    require(request.user, event.competition, CHANGE)
    form = EventForm(request.POST or None, initial={k: getattr(event, k) for k in services.EVENT_FIELDS})
    if request.method == "POST" and form.is_valid():
        try:
            services.event_update(actor=request.user, event=event, **form.cleaned_data)
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已保存")
            return redirect("contest:event", pk=event.pk)
    return render(request, "core/form.html", {"form": form, "title": f"修改项目：{event.name}"})


@login_required
@require_POST
def item_create(request, pk):
    event = _event(request, pk)
    form = ItemForm(request.POST)
    if form.is_valid():
        try:
            services.item_add(actor=request.user, event=event, **form.cleaned_data)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"已添加评分项「{form.cleaned_data['title']}」")
    else:
        messages.error(request, "评分项填写不完整：" + "；".join(f"{form.fields[k].label}{v[0]}"
                                                          for k, v in form.errors.items() if k in form.fields))
    return redirect("contest:event", pk=event.pk)


@login_required
@require_POST
def item_remove(request, pk):
    item = get_in_reach(RubricItem.objects.select_related("event__competition"), request.user, VIEW, pk=pk)
    try:
        services.item_remove(actor=request.user, item=item)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"已删除评分项「{item.title}」")
    return redirect("contest:event", pk=item.event_id)


@login_required
def written(request, pk):
    event = _event(request, pk)
    require(request.user, event.competition, CHANGE)
    entries = list(queries.entries_of(request.user, event).order_by("contestant__code"))
    if request.method == "POST":
        scores = {e.pk: (request.POST.get(f"score_{e.pk}", ""), request.POST.get(f"part_{e.pk}", ""),
                         request.POST.get(f"minutes_{e.pk}", "")) for e in entries}
        try:
            changed = services.written_scores_record(actor=request.user, event=event, scores=scores)
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, f"已保存笔试成绩（{changed} 人有变动）")
            return redirect("contest:advance", pk=event.pk)
    return render(request, "contest/written.html", {"event": event, "entries": entries})


@login_required
def advance(request, pk):
    event = _event(request, pk)
    require(request.user, event.competition, CHANGE)
    preview = services.scoring.advancement(services.advancement_rows(event), event.advance_count, event.tie_rule)
    if request.method == "POST":
        expected = [int(x) for x in request.POST.getlist("advancing") if x.isdigit()]
        try:
            services.advancement_confirm(actor=request.user, event=event, expected=expected)
        except ServiceError as e:
            messages.error(request, e.message)
            return redirect("contest:advance", pk=event.pk)
        messages.success(request, "已确认晋级名单")
        return redirect("contest:event", pk=event.pk)
    entries = {e.pk: e for e in queries.entries_of(request.user, event)}
    rows = sorted(entries.values(), key=lambda e: (e.written_score is None, -(e.written_score or 0)))
    return render(request, "contest/advance.html", {
        "event": event, "preview": preview, "rows": rows, "advancing": set(preview.advancing),
        "tied": set(preview.tied), "absent": set(preview.absent),
        "can_organise": services.can_organise(request.user, event.competition)})


@login_required
def panel(request, pk):
    event = _event(request, pk)
    require(request.user, event.competition, CHANGE)
    judges = queries.judges_of(request.user, event.competition)
    form = PanelForm(request.POST or None, judges=judges, initial={
        "judges": list(event.panel.values_list("judge_id", flat=True)), "chief": event.chief_judge_id})
    if request.method == "POST" and form.is_valid():
        try:
            services.panel_set(actor=request.user, event=event, judges=list(form.cleaned_data["judges"]),
                               chief=form.cleaned_data["chief"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已保存评委安排")
            return redirect("contest:event", pk=event.pk)
    return render(request, "core/form.html", {"form": form, "title": f"{event.name} · 评委安排"})


@login_required
@require_POST
def draw(request, pk):
    event = _event(request, pk)
    form = DrawForm(request.POST)
    seed = form.cleaned_data["seed"] if form.is_valid() else None
    try:
        services.draw_run(actor=request.user, event=event, seed=seed)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "已抽签，出场顺序和种子已记录")
    return redirect("contest:event", pk=event.pk)


@login_required
@require_POST
def judging_open(request, pk):
    event = _event(request, pk)
    try:
        count = services.judging_open(actor=request.user, event=event)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"已开始实操评分，生成 {count} 份评分表")
    return redirect("contest:event", pk=event.pk)


@login_required
@require_POST
def round_close(request, pk):
    event = _event(request, pk)
    try:
        services.round_close(actor=request.user, event=event)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "评分已结束，请评委组长和纪检督查人员签字确认")
    return redirect("contest:results", pk=event.pk)


@login_required
def results(request, pk):
    event = _event(request, pk)
    user = request.user
    if request.GET.get("export") == "xlsx":
        return export_page(request, "contest-results", {"event": event.pk})
    return render(request, "contest/results.html", {
        "event": event, "competition": event.competition, "results": queries.event_results(event),
        "can_organise": services.can_organise(user, event.competition),
        "is_chief": services.is_chief(user, event), "supervises": services.supervises(user, event.competition),
        "show_names": not (event.competition.show_codes and not services.can_organise(user, event.competition)
                           and not services.supervises(user, event.competition)),
    })


@login_required
@require_POST
def sign(request, pk):
    event = _event(request, pk)
    try:
        services.results_sign(actor=request.user, event=event)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "已签字确认成绩")
    return redirect("contest:results", pk=event.pk)


@login_required
@require_POST
def publish(request, pk):
    event = _event(request, pk)
    try:
        services.results_publish(actor=request.user, event=event)
    except ServiceError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, "成绩已公布")
    return redirect("contest:results", pk=event.pk)


# --- judging ------------------------------------------------------------------------------------

@login_required
def my_sheets(request):
    return render(request, "contest/my_sheets.html", {"sheets": queries.sheets_of_judge(request.user),
                                                      "panel_sheets": queries.panel_sheets_after_close(request.user)})


def _sheet(request, pk) -> Sheet:
    return get_in_reach(Sheet.objects.select_related("event__competition__org_unit", "entry__contestant__institution",
                                                     "judge__user"), request.user, VIEW, pk=pk)


def _sheet_post(request, event):
    points = {i.pk: request.POST.get(f"item_{i.pk}", "") for i in event.items.all()}
    return points, request.POST.getlist("failed"), request.POST.get("seconds_used", "")


@login_required
def sheet_detail(request, pk):
    sheet = _sheet(request, pk)
    event = sheet.event
    mine = sheet.judge.user_id == request.user.pk
    errors = {}
    values = {line.item_id: line for line in sheet.lines.all()}
    if request.method == "POST":
        if not mine:
            messages.error(request, "只能为自己的评分表评分")
            return redirect("contest:sheet", pk=sheet.pk)
        points, failed, seconds = _sheet_post(request, event)
        try:
            services.sheet_submit(actor=request.user, sheet=sheet, points=points, failed=failed,
                                  seconds_used=seconds)
        except ServiceError as e:
            messages.error(request, e.message)
            errors = e.fields
        else:
            messages.success(request, f"已提交选手 {sheet.entry.contestant.code} 的评分表")
            return redirect("contest:my_sheets")
    items = list(event.items.all())
    for item in items:
        line = values.get(item.pk)
        item.value = request.POST.get(f"item_{item.pk}", "") if request.method == "POST" else (
            line.points if line else "")
        item.is_failed = (str(item.pk) in request.POST.getlist("failed")) if request.method == "POST" else (
            line.failed if line else False)
        item.error = errors.get(f"item_{item.pk}", "")
    show_name = not event.competition.show_codes or not mine
    return render(request, "contest/sheet.html", {
        "sheet": sheet, "event": event, "items": items, "mine": mine, "show_name": show_name,
        "editable": mine and sheet.status == Sheet.Status.OPEN and event.status == Event.Status.JUDGING,
        "seconds": request.POST.get("seconds_used", "") if request.method == "POST" else (sheet.seconds_used or ""),
        "corrections": queries.corrections_visible(request.user).filter(sheet=sheet),
    })


@login_required
def correction_create(request, pk):
    sheet = _sheet(request, pk)
    require(request.user, sheet, CHANGE)
    event = sheet.event
    form = ReasonForm(request.POST or None)
    values = {line.item_id: line for line in sheet.lines.all()}
    if request.method == "POST" and form.is_valid():
        points, failed, seconds = _sheet_post(request, event)
        try:
            correction = services.correction_request(actor=request.user, sheet=sheet, points=points, failed=failed,
                                                     seconds_used=seconds, reason=form.cleaned_data["reason"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已提交更正申请，待评委组长和纪检督查人员审批")
            return redirect("contest:correction", pk=correction.pk)
    items = list(event.items.all())
    for item in items:
        line = values.get(item.pk)
        item.value = request.POST.get(f"item_{item.pk}", line.points if line else "")
        item.is_failed = line.failed if line else False
    return render(request, "contest/correction_form.html", {"sheet": sheet, "event": event, "items": items,
                                                            "form": form, "seconds": sheet.seconds_used})


@login_required
def correction_detail(request, pk):
    correction = get_in_reach(Correction.objects.select_related(
        "sheet__event__competition__org_unit", "sheet__event__chief_judge", "sheet__judge__user",
        "sheet__entry__contestant", "requested_by", "chief_approved_by", "supervisor_approved_by"),
        request.user, VIEW, pk=pk)
    event = correction.sheet.event
    if request.method == "POST":
        try:
            if request.POST.get("decision") == "reject":
                services.correction_reject(actor=request.user, correction=correction,
                                           note=request.POST.get("note", ""))
                messages.success(request, "已驳回更正")
            else:
                services.correction_approve(actor=request.user, correction=correction)
                messages.success(request, "已审批")
        except ServiceError as e:
            messages.error(request, e.message)
        return redirect("contest:correction", pk=correction.pk)
    items = {str(i.pk): i.title for i in event.items.all()}
    lines = [{"title": items.get(k, k), "before": v["points"], "before_failed": v["failed"],
              "after": correction.proposed["lines"].get(k, {}).get("points"),
              "after_failed": correction.proposed["lines"].get(k, {}).get("failed")}
             for k, v in correction.original["lines"].items()]
    user = request.user
    may_decide = correction.status == Correction.Status.PENDING and (
        (services.is_chief(user, event) and not correction.chief_approved_at)
        or (services.supervises(user, event.competition) and not correction.supervisor_approved_at))
    return render(request, "contest/correction.html", {"correction": correction, "event": event, "lines": lines,
                                                       "may_decide": may_decide})


# --- supervision, board, published results ----------------------------------------------------------

@login_required
def supervision(request, pk):
    competition = get_in_reach(Competition, request.user, VIEW, pk=pk)
    may_export_audit = queries.may_read_audit(request.user, competition)
    if request.GET.get("export") == "xlsx":
        if not may_export_audit:
            messages.error(request, "只有纪检督查人员和区管理员可以导出审计记录")
            return redirect("contest:supervision", pk=competition.pk)
        return export_page(request, "contest-audit", {"competition": competition.pk})
    events = list(queries.events_of(request.user, competition))
    for event in events:
        event.sheet_list = queries.sheets_visible(request.user, event)
        event.consistency = queries.consistency(event)
    context = {
        "competition": competition, "events": events,
        "corrections": queries.corrections_visible(request.user, competition=competition),
        "changes": queries.recent_changes(request.user, competition),
        "may_export_audit": may_export_audit,
    }
    if request.htmx:
        return render(request, "contest/supervision.html#live", context)
    return render(request, "contest/supervision.html", context)


@login_required
def board(request, pk):
    competition = get_in_reach(Competition, request.user, VIEW, pk=pk)
    boards = [queries.board(e) for e in queries.events_of(request.user, competition)
              .exclude(status=Event.Status.SETUP)]
    context = {"competition": competition, "boards": boards}
    if request.htmx:
        return render(request, "contest/board.html#live", context)
    return render(request, "contest/board.html", context)


@login_required
def certificates(request, pk):
    event = _event(request, pk)
    if event.status != Event.Status.PUBLISHED:
        messages.error(request, "成绩公布后才能打印证书")
        return redirect("contest:results", pk=event.pk)
    rows = event.results.select_related("entry__contestant__institution").order_by("rank", "id")
    return render(request, "contest/certificates.html", {"event": event, "competition": event.competition,
                                                         "rows": rows})


@login_required
def published(request):
    from django.utils import timezone
    if request.GET.get("export") == "xlsx":
        return export_page(request, "contest-results", {"published": "1"})
    rows = list(queries.published_results(request.user))
    now = timezone.now()
    for row in rows:
        deadline = services.appeal_deadline(row.event)
        row.appeal_open = deadline is not None and now <= deadline and services.may_appeal(request.user, row)
        row.deadline = deadline
    return render(request, "contest/published.html", {"rows": rows,
                                                      "appeals": queries.appeals_visible(request.user)[:50]})


@login_required
def appeal_create(request, pk):
    result = get_in_reach(ResultRow.objects.select_related("event__competition", "entry__contestant"),
                          request.user, VIEW, pk=pk)
    if not services.may_appeal(request.user, result):
        raise Forbidden("只有选手所在机构或主办单位可以申请复核")
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            appeal = services.appeal_file(actor=request.user, result=result, reason=form.cleaned_data["reason"])
        except ServiceError as e:
            fail(form, e)
        else:
            messages.success(request, "已提交复核申请")
            return redirect("contest:appeal", pk=appeal.pk)
    return render(request, "core/form.html", {
        "form": form, "title": f"申请复核：{result.event.name} · {result.entry.contestant.name}（第 {result.rank} 名）"})


@login_required
def appeal_detail(request, pk):
    appeal = get_in_reach(Appeal.objects.select_related(
        "result__event__competition__org_unit", "result__entry__contestant__institution", "filed_by", "handled_by"),
        request.user, VIEW, pk=pk)
    competition = appeal.result.event.competition
    if request.method == "POST":
        try:
            services.appeal_decide(actor=request.user, appeal=appeal, upheld=request.POST.get("decision") == "upheld",
                                   outcome=request.POST.get("outcome", ""))
        except ServiceError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, "已记录复核结果")
        return redirect("contest:appeal", pk=appeal.pk)
    return render(request, "contest/appeal.html", {
        "appeal": appeal, "may_decide": appeal.status == Appeal.Status.PENDING
        and services.can_organise(request.user, competition)})

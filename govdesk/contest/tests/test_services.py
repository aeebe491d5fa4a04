from decimal import Decimal as D

import pytest

from govdesk.contest import services
from govdesk.contest.models import Correction, Entry, Event, ResultRow, Sheet, SheetLine
from govdesk.contest.queries import consistency, event_results
from govdesk.core.errors import Conflict, Forbidden, NotInReach, ServiceError
from govdesk.core.models import AuditEvent, Todo
from govdesk.core.testing import assert_write_refused

pytestmark = pytest.mark.django_db


def events_for(obj, verb=None):
    qs = AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return qs.filter(verb=verb) if verb is not None else qs


def submit(contest, judge_index, contestant_index, seconds=600, failed=(), **points):
    items = {i.title: i for i in contest.items}
    marks = contest.full_marks({items[k].pk: D(v) for k, v in points.items()})
    return services.sheet_submit(actor=contest.users[judge_index], sheet=contest.sheet(judge_index, contestant_index),
                                 points=marks, failed=[items[f].pk for f in failed], seconds_used=seconds)


def score_everything(contest):
    """张敏 (written 90): 100 and 88.5 (overtime); 李娜 (85): 60 (critical cap) and 90; 王芳 (80): 95 ×3."""
    submit(contest, 1, 0)
    submit(contest, 2, 0, seconds=661, **{"操作前准备": "9.5", "操作流程": "55", "提问答辩": "18"})
    submit(contest, 0, 1, failed=["无菌原则"])
    submit(contest, 2, 1, **{"操作流程": "50"})
    for judge in (0, 1, 2):
        submit(contest, judge, 2, **{"操作流程": "55"})


def test_set_up_is_audited_once_per_change(contest):
    assert events_for(contest.competition).count() == 1
    assert events_for(contest.event).count() == 1
    assert all(events_for(i).count() == 1 for i in contest.items)
    assert [c.code for c in contest.contestants] == ["001", "002", "003", "004"]


def test_a_critical_item_must_declare_its_effect(contest):
    with pytest.raises(ServiceError, match="须声明否决效果"):
        services.item_add(actor=contest.organiser, event=contest.event, title="核对", max_points=5, critical=True)
    with pytest.raises(ServiceError, match="封顶分"):
        services.item_add(actor=contest.organiser, event=contest.event, title="核对", max_points=5, critical=True,
                          effect="cap")
    with pytest.raises(ServiceError, match="整数倍"):
        services.item_add(actor=contest.organiser, event=contest.event, title="核对", max_points=5, step="2")


def test_only_the_organiser_sets_up(contest):
    world = contest.world
    assert_write_refused(lambda: services.event_create(actor=world.supervisor, competition=contest.competition,
                                                       name="新项目"), models=[Event], expect=Forbidden)
    assert_write_refused(lambda: services.event_create(actor=world.dept_officer, competition=contest.competition,
                                                       name="新项目"), models=[Event], expect=NotInReach)
    assert_write_refused(lambda: services.contestant_add(actor=contest.users[0], competition=contest.competition,
                                                         name="某人", institution=contest.hosp_a,
                                                         events=[contest.event]), models=[Entry])


def test_a_judge_must_hold_the_judge_role(contest):
    with pytest.raises(ServiceError, match="不是本单位登记的评委"):
        services.judge_add(actor=contest.organiser, competition=contest.competition, user=contest.world.officer_a)


def test_advancement_must_match_the_preview(contest):
    entries = list(contest.event.entries.order_by("contestant__code"))
    services.written_scores_record(actor=contest.organiser, event=contest.event,
                                   scores={e.pk: (s, "", "") for e, s in zip(entries, ["90", "85", "80", "80"],
                                                                             strict=True)})
    with pytest.raises(Conflict, match="重新预览"):
        services.advancement_confirm(actor=contest.organiser, event=contest.event,
                                     expected=[e.pk for e in entries[:3]])
    services.advancement_confirm(actor=contest.organiser, event=contest.event, expected=[e.pk for e in entries])
    assert Entry.objects.filter(event=contest.event, advanced=True).count() == 4
    event = Event.objects.get(pk=contest.event.pk)
    assert event.status == "advanced"
    assert events_for(event, "advance").get().changes["tied"] == [entries[2].pk, entries[3].pk]


def test_bad_written_scores_write_nothing(contest):
    entry = contest.event.entries.first()
    before = AuditEvent.objects.count()
    with pytest.raises(ServiceError, match="笔试成绩应在"):
        services.written_scores_record(actor=contest.organiser, event=contest.event, scores={entry.pk: ("120", "", "")})
    assert Entry.objects.get(pk=entry.pk).written_score is None and AuditEvent.objects.count() == before


def test_the_recorded_seed_reproduces_the_draw(contest):
    contest.advance_and_open(seed=20260510)
    event = Event.objects.get(pk=contest.event.pk)
    order = list(Entry.objects.filter(event=event, advanced=True).order_by("draw_order").values_list("pk", flat=True))
    assert event.draw_seed == 20260510
    assert services.scoring.draw_order(order, event.draw_seed) == order
    assert events_for(event, "draw").get().changes["order"] == order


def test_recusal_never_seats_a_judge_on_their_own_institutions_contestant(contest):
    contest.advance_and_open()
    sheets = Sheet.objects.filter(event=contest.event).select_related("judge", "entry__contestant")
    assert sheets.count() == 7   # 3 contestants × 3 judges − 2 recusals
    assert all(s.judge.institution_id != s.entry.contestant.institution_id for s in sheets)
    assert not Sheet.objects.filter(judge=contest.judges[0], entry__contestant=contest.contestants[0]).exists()
    assert Todo.objects.filter(kind=services.TODO_SCORE, done_at=None).count() == 7
    assert Todo.objects.filter(kind=services.TODO_SCORE, user=contest.users[0]).count() == 2


def test_every_item_must_be_scored_in_steps_before_submit(contest):
    contest.advance_and_open()
    sheet = contest.sheet(0, 2)
    marks = contest.full_marks()
    del marks[contest.items[3].pk]
    with pytest.raises(ServiceError, match="提问答辩：请评分"):
        services.sheet_submit(actor=contest.users[0], sheet=sheet, points=marks, seconds_used=500)
    with pytest.raises(ServiceError, match="步长"):
        services.sheet_submit(actor=contest.users[0], sheet=sheet,
                              points=contest.full_marks({contest.items[0].pk: D("9.3")}), seconds_used=500)
    with pytest.raises(ServiceError, match="计时器"):
        services.sheet_submit(actor=contest.users[0], sheet=sheet, points=contest.full_marks(), seconds_used="")
    assert Sheet.objects.get(pk=sheet.pk).status == "open" and not SheetLine.objects.exists()


def test_a_submitted_sheet_is_locked_and_its_todo_closed(contest):
    contest.advance_and_open()
    sheet = submit(contest, 0, 2, seconds=661, **{"操作流程": "55"})
    assert (sheet.total, sheet.overtime_deduction, sheet.status) == (D("91.00"), D("4.00"), "submitted")
    assert not Todo.objects.filter(source_id=str(sheet.pk), done_at=None).exists()
    assert events_for(sheet, "submit").get().changes["total"] == "91.00"
    with pytest.raises(Conflict, match="已提交锁定"):
        submit(contest, 0, 2)


def test_nobody_but_its_judge_scores_a_sheet(contest):
    contest.advance_and_open()
    sheet = contest.sheet(0, 2)
    for person, refusal in [(contest.world.supervisor, Forbidden), (contest.organiser, Forbidden),
                            (contest.users[1], NotInReach), (contest.hosp_a_officer, NotInReach)]:
        assert_write_refused(lambda p=person: services.sheet_submit(actor=p, sheet=sheet, points=contest.full_marks(),
                                                                    seconds_used=500),
                             models=[SheetLine], expect=refusal)


def test_a_correction_needs_the_chief_judge_and_a_supervisor_and_keeps_the_original(contest):
    contest.advance_and_open(chief=2)
    sheet = submit(contest, 0, 2, **{"操作流程": "55"})
    correction = services.correction_request(actor=contest.users[0], sheet=sheet, points=contest.full_marks(),
                                             seconds_used=600, reason="误录操作流程分")
    assert Sheet.objects.get(pk=sheet.pk).total == D("95.00")
    with pytest.raises(NotInReach):
        services.correction_approve(actor=contest.users[1], correction=correction)   # another judge
    with pytest.raises(Forbidden):
        services.correction_approve(actor=contest.users[0], correction=correction)   # its own judge
    services.correction_approve(actor=contest.users[2], correction=correction)  # the chief judge
    assert Sheet.objects.get(pk=sheet.pk).total == D("95.00")
    with pytest.raises(Conflict, match="已审批过"):
        services.correction_approve(actor=contest.users[2], correction=correction)
    services.correction_approve(actor=contest.world.supervisor, correction=correction)
    sheet = Sheet.objects.get(pk=sheet.pk)
    correction.refresh_from_db()
    assert (sheet.total, sheet.corrected, correction.status) == (D("100.00"), True, "applied")
    assert correction.original["total"] == "95.00"
    assert correction.original["lines"][str(contest.items[1].pk)]["points"] == "55.0"
    verbs = list(AuditEvent.objects.filter(object_type__in=["contest.correction", "contest.sheet"],
                                           object_id__in=[str(correction.pk), str(sheet.pk)])
                 .order_by("seq").values_list("verb", flat=True))
    assert verbs == ["submit", "correction_request", "approve_chief", "approve_supervisor", "correction_apply"]


def test_a_rejected_correction_leaves_the_sheet_alone(contest):
    contest.advance_and_open(chief=2)
    sheet = submit(contest, 0, 2, **{"操作流程": "55"})
    correction = services.correction_request(actor=contest.users[0], sheet=sheet, points=contest.full_marks(),
                                             seconds_used=600, reason="误录")
    with pytest.raises(Conflict, match="待审批"):
        services.correction_request(actor=contest.users[0], sheet=sheet, points=contest.full_marks(),
                                    seconds_used=600, reason="再次")
    services.correction_reject(actor=contest.world.supervisor, correction=correction, note="依据不足")
    assert Sheet.objects.get(pk=sheet.pk).total == D("95.00")
    assert Correction.objects.get(pk=correction.pk).status == "rejected"


def test_the_round_closes_only_without_missing_sheets(contest):
    contest.advance_and_open()
    submit(contest, 1, 0)
    with pytest.raises(ServiceError, match="还有 6 份评分表未提交"):
        services.round_close(actor=contest.organiser, event=contest.event)


def test_results_with_exact_numbers_and_publication_after_two_sign_offs(contest):
    contest.advance_and_open(chief=2)
    score_everything(contest)
    results = event_results(contest.event)
    assert [(r["contestant"].name, r["practical"], r["final"], r["rank"], r["winner"]) for r in results["rows"]] == [
        ("张敏", D("94.25"), D("92.13"), 1, True),
        ("王芳", D("95.00"), D("87.50"), 2, False),
        ("李娜", D("75.00"), D("80.00"), 3, False),
    ]
    with pytest.raises(Conflict):
        services.results_sign(actor=contest.users[2], event=contest.event)   # round still open
    services.round_close(actor=contest.organiser, event=contest.event)
    with pytest.raises(Conflict, match="都签字确认"):
        services.results_publish(actor=contest.organiser, event=contest.event)
    with pytest.raises(NotInReach):
        services.results_sign(actor=contest.users[0], event=contest.event)   # not the chief judge
    with pytest.raises(Forbidden):
        services.results_sign(actor=contest.organiser, event=contest.event)  # organisers do not sign
    services.results_sign(actor=contest.users[2], event=contest.event)
    services.results_sign(actor=contest.world.supervisor, event=contest.event)
    assert_write_refused(lambda: services.results_publish(actor=contest.world.supervisor, event=contest.event),
                         models=[ResultRow], expect=Forbidden)
    rows = services.results_publish(actor=contest.organiser, event=contest.event)
    assert [(r.final, r.rank, r.winner) for r in rows] == [(D("92.13"), 1, True), (D("87.50"), 2, False),
                                                          (D("80.00"), 3, False)]
    assert Event.objects.get(pk=contest.event.pk).status == "published"
    assert rows[0].working["sheets"] == ["88.50", "100.00"]


def test_an_applied_correction_clears_the_sign_offs(contest):
    contest.advance_and_open(chief=2)
    score_everything(contest)
    services.round_close(actor=contest.organiser, event=contest.event)
    services.results_sign(actor=contest.users[2], event=contest.event)
    correction = services.correction_request(actor=contest.users[0], sheet=contest.sheet(0, 2),
                                             points=contest.full_marks(), seconds_used=600, reason="误录")
    with pytest.raises(Conflict, match="待审批"):
        services.results_sign(actor=contest.world.supervisor, event=contest.event)
    services.correction_approve(actor=contest.users[2], correction=correction)
    services.correction_approve(actor=contest.world.supervisor, correction=correction)
    event = Event.objects.get(pk=contest.event.pk)
    assert event.chief_signed_at is None and event.supervisor_signed_at is None


def test_consistency_flags_a_judge_far_from_the_others(contest):
    contest.advance_and_open()
    score_everything(contest)
    rows = {r["judge"].user.username: r for r in consistency(contest.event)}
    # only 王芳 has three sheets (95, 95, 95): nobody deviates
    assert {k: (r["contestants"], r["mean_abs_deviation"], r["flagged"]) for k, r in rows.items()} == {
        "judge1": (1, D("0.00"), False), "judge2": (1, D("0.00"), False), "judge3": (1, D("0.00"), False)}


def test_contestants_come_from_the_districts_institutions(contest):
    from datetime import date

    from govdesk.contest.models import Competition, Contestant
    from govdesk.core import services as core
    elsewhere = core.orgunit_create(actor=contest.world.root, parent=None, kind="district", code="T200", name="外区")
    outside = core.orgunit_create(actor=contest.world.root, parent=elsewhere, kind="institution", code="T200-H",
                                  name="外区医院")
    for unit in (outside, contest.world.street_a):
        with pytest.raises(ServiceError, match="本区在册"):
            services.contestant_add(actor=contest.organiser, competition=contest.competition, name="某人",
                                    institution=unit, events=[contest.event])
    assert Contestant.objects.count() == 4
    with pytest.raises(ServiceError, match="主办单位应为"):
        services.competition_create(actor=contest.organiser, unit=contest.hosp_a, name="院内赛",
                                    starts_on=date(2026, 6, 1), ends_on=date(2026, 6, 1), venue="本院")
    assert Competition.objects.count() == 1


def test_a_contestant_enters_another_event_until_it_advances(contest):
    other = services.event_create(actor=contest.organiser, competition=contest.competition, name="计划生育技术服务")
    entry = services.contestant_enter(actor=contest.organiser, contestant=contest.contestants[0], event=other)
    assert entry.contestant.entries.count() == 2 and events_for(entry).count() == 1
    with pytest.raises(ServiceError, match="已报名"):
        services.contestant_enter(actor=contest.organiser, contestant=contest.contestants[0], event=other)
    contest.advance_and_open()
    with pytest.raises(Conflict, match="已确认晋级"):
        services.contestant_enter(actor=contest.organiser, contestant=contest.contestants[3], event=contest.event)
    assert_write_refused(lambda: services.contestant_enter(actor=contest.world.supervisor,
                                                           contestant=contest.contestants[1], event=other),
                         models=[Entry], expect=Forbidden)

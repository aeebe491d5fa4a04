"""The competition's tables: contestants, the written exam sheet and judges in; results
and the audit trail out — through the core engine, with exact outcomes."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from govdesk.contest import services
from govdesk.contest.models import Contestant, Entry, Judge
from govdesk.contest.tests.test_services import score_everything
from govdesk.core.models import AuditEvent
from govdesk.core.reach import Role
from govdesk.core.tables.jobs import job_path, table_job_start
from govdesk.core.tables.run import import_table
from govdesk.core.tables.testing import sheet_rows, xlsx_bytes

pytestmark = pytest.mark.django_db
NAME = "妇幼健康技能竞赛"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def family(contest):
    """A second event, 计划生育技术服务, beside 儿童保健."""
    return services.event_create(actor=contest.organiser, competition=contest.competition, name="计划生育技术服务",
                                 order=2)


def run(contest, kind, data, actor=None, **options):
    return import_table(actor=actor or contest.organiser, kind=kind, file=data, filename="upload.xlsx", **options)


def counts(result):
    return result.created, result.updated, result.unchanged, result.invalid


def errors(result):
    return [(e["row"], e["column"], e["message"]) for e in result.errors]


def imported(kind_label):
    return AuditEvent.objects.filter(object_type=kind_label, verb="import")


def snapshot():
    return (Contestant.objects.count(), Entry.objects.count(), Judge.objects.count(), AuditEvent.objects.count(),
            list(Entry.objects.order_by("pk").values_list("written_score", flat=True)))


# --- contestants ----------------------------------------------------------------------------------

def entry_list(*rows):
    """The entry list as the organiser's office sends it: a merged title, a 序号 column, 单位/机构."""
    return xlsx_bytes([[f"2026年{NAME}报名表"], ["序号", "姓名", "单位/机构", "参赛项目", "竞赛名称", "编号"], *rows],
                      merges=["A1:F1"])


def test_contestants_import_registers_new_people_and_enters_known_ones(contest, family):
    data = entry_list(
        [1, "陈静", "第一医院", "儿童保健、计划生育技术服务", NAME, None],
        [2, "张敏", "第一医院", "计划生育技术服务", NAME, None],     # 001, already in 儿童保健
        [3, "李娜", "第二医院", "儿童保健", NAME, None],             # nothing new
        [4, "刘洋", "T100-H3", "计划生育技术服务", NAME, 7],          # institution by code, code typed as 7
    )
    result = run(contest, "contest-contestants", data)
    assert errors(result) == []
    assert counts(result) == (2, 1, 1, 0)
    chen = Contestant.objects.get(name="陈静")
    assert (chen.code, chen.institution) == ("008", contest.hosp_a)   # after the highest code, 007 in the file
    assert sorted(chen.entries.values_list("event__name", flat=True)) == ["儿童保健", "计划生育技术服务"]
    assert Contestant.objects.get(name="刘洋").code == "007"
    assert sorted(contest.contestants[0].entries.values_list("event__name", flat=True)) == ["儿童保健", "计划生育技术服务"]
    # one audit event per written row: 陈静 and 刘洋 created, 张敏 entered in one more event
    assert sorted(imported("contest.contestant").values_list("object_repr", "action")) == [
        ("001 张敏", "update"), ("007 刘洋", "create"), ("008 陈静", "create")]
    assert counts(run(contest, "contest-contestants", data)) == (0, 0, 4, 0)


def test_one_row_per_event_enters_the_same_new_contestant_twice(contest, family):
    data = entry_list([1, "陈静", "第一医院", "儿童保健", NAME, None],
                      [2, "陈静", "第一医院", "计划生育技术服务", NAME, None])
    assert counts(run(contest, "contest-contestants", data)) == (1, 1, 0, 0)
    chen = Contestant.objects.get(name="陈静")
    assert chen.entries.count() == 2
    assert imported("contest.contestant").filter(object_id=str(chen.pk)).count() == 2


def test_a_bad_contestant_row_writes_nothing(contest, family):
    services.competition_create(actor=contest.world.dept_officer, unit=contest.world.department, name="招商技能比武",
                                starts_on=contest.competition.starts_on, ends_on=contest.competition.ends_on,
                                venue="商务局")
    before = snapshot()
    data = entry_list(
        [1, "陈静", "第一医院", "儿童保健", NAME, None],
        [2, "周红", "第九医院", "儿童保健", NAME, None],
        [3, "吴丹", "第二医院", "急救技能", NAME, None],
        [4, "郑好", "第二医院", "儿童保健", "招商技能比武", None],  # another organiser's competition
        [5, "王芳", "妇幼保健院", "儿童保健", NAME, 1],              # 001 is 张敏
        [6, "孙悦", contest.world.community_a.name, "儿童保健", NAME, None],   # a community, not an institution
    )
    result = run(contest, "contest-contestants", data)
    assert errors(result) == [
        (4, "所在机构", "机构「第九医院」不是本区在册的医疗卫生机构"),
        (5, "参赛项目", "本竞赛没有项目「急救技能」"),
        (6, "竞赛", "竞赛「招商技能比武」不存在或不在您的管理范围内"),
        (7, "", "编号 001 已登记为 张敏（第一医院）"),
        (8, "所在机构", f"机构「{contest.world.community_a.name}」不是本区在册的医疗卫生机构"),
    ]
    assert counts(result) == (0, 0, 0, 5) and not result.written
    assert snapshot() == before


def test_valid_rows_mode_keeps_the_good_rows(contest, family):
    data = entry_list([1, "陈静", "第一医院", "儿童保健", NAME, None], [2, "周红", "第九医院", "儿童保健", NAME, None])
    result = run(contest, "contest-contestants", data, mode="valid")
    assert counts(result) == (1, 0, 0, 1)
    assert Contestant.objects.filter(name="陈静").exists() and not Contestant.objects.filter(name="周红").exists()


def test_nobody_enters_an_event_whose_advancement_is_confirmed(contest, family):
    contest.advance_and_open()
    data = entry_list([1, "陈静", "第一医院", "儿童保健", NAME, None],
                      [2, "李娜", "第二医院", "儿童保健", NAME, None],            # already entered: unchanged
                      [3, "赵丽", "妇幼保健院", "计划生育技术服务", NAME, None])  # still open
    result = run(contest, "contest-contestants", data, mode="valid")
    assert errors(result) == [(3, "", "「儿童保健」已确认晋级，不能再报名")]
    assert counts(result) == (0, 1, 1, 1)


def test_only_the_organiser_imports_contestants(contest, family):
    data = entry_list([1, "陈静", "第一医院", "儿童保健", NAME, None])
    for person in (contest.world.supervisor, contest.users[0], contest.hosp_a_officer):
        result = run(contest, "contest-contestants", data, actor=person)
        assert errors(result) == [(3, "竞赛", f"竞赛「{NAME}」不存在或不在您的管理范围内")]
    assert not Contestant.objects.filter(name="陈静").exists()


# --- written scores --------------------------------------------------------------------------------

def exam_sheet(*rows):
    return xlsx_bytes([["考号", "姓名", "单位", "项目", "笔试成绩", "专业部分", "用时", "竞赛"], *rows])


EXAM = [["001", "张敏", None, "儿童保健", 90, 45, 80, NAME],
        [None, "李娜", "第二医院", "儿童保健", "８５", 40.5, 85, NAME],  # by name and unit, full-width digits
        [3, None, None, "儿童保健", 80, None, None, NAME],              # code typed as a number
        [None, "赵丽", "T100-H3", "儿童保健", "70.0", 30, 90, NAME]]


def written_of(contest):
    return [(e.contestant.name, e.written_score, e.written_part, e.written_minutes)
            for e in contest.event.entries.select_related("contestant").order_by("contestant__code")]


def test_the_exam_sheet_records_written_scores_once_per_row(contest):
    result = run(contest, "contest-written-scores", exam_sheet(*EXAM))
    assert errors(result) == []
    assert counts(result) == (4, 0, 0, 0)
    assert written_of(contest) == [("张敏", D("90.00"), D("45.00"), 80), ("李娜", D("85.00"), D("40.50"), 85),
                                   ("王芳", D("80.00"), None, None), ("赵丽", D("70.00"), D("30.00"), 90)]
    assert AuditEvent.objects.filter(object_type="contest.entry", verb="written_score").count() == 4
    assert counts(run(contest, "contest-written-scores", exam_sheet(*EXAM))) == (0, 0, 4, 0)
    changed = [list(row) for row in EXAM]
    changed[2][4] = 82
    assert counts(run(contest, "contest-written-scores", exam_sheet(*changed))) == (0, 1, 3, 0)
    assert AuditEvent.objects.filter(object_type="contest.entry", verb="written_score").count() == 5
    preview = services.scoring.advancement(services.advancement_rows(contest.event), 3, contest.event.tie_rule)
    assert sorted(preview.advancing) == sorted(e.pk for e in contest.event.entries.filter(written_score__gte=80))


def test_a_bad_exam_row_writes_no_score(contest):
    before = snapshot()
    data = exam_sheet(
        *EXAM[:2],
        ["009", None, None, "儿童保健", 60, None, None, NAME],
        [None, None, "第一医院", "儿童保健", 60, None, None, NAME],
        ["003", "赵丽", None, "儿童保健", 60, None, None, NAME],
        ["004", None, None, "儿童保健", 105, None, None, NAME],
        [None, "王芳", None, "围产保健", 60, None, None, NAME],
        [None, "张敏", "第一医院", "儿童保健", 91, None, None, NAME],
    )
    result = run(contest, "contest-written-scores", data, dry_run=True)   # a dry run reports every refusal
    assert errors(result) == [
        (4, "编号", "编号 009 的选手没有报名「儿童保健」"),
        (5, "编号", "请填写编号，或填写姓名和所在机构"),
        (6, "姓名", "编号 003 是 王芳，与姓名「赵丽」不符"),
        (7, "笔试成绩", "笔试成绩应在 0 到 100 之间"),
        (8, "项目", "本竞赛没有项目「围产保健」"),
        (9, "编号", "与第 2 行是同一选手的成绩"),
    ]
    assert counts(result) == (2, 0, 0, 6)
    assert snapshot() == before
    result = run(contest, "contest-written-scores", data)
    assert counts(result) == (0, 0, 0, 2) and not result.written   # the cell checks refuse rows 5 and 7 first
    assert [e["row"] for e in result.errors] == [5, 7]
    assert snapshot() == before


def test_written_scores_are_refused_once_advancement_is_confirmed(contest):
    contest.advance_and_open()
    before = snapshot()
    result = run(contest, "contest-written-scores", exam_sheet(EXAM[0]))
    assert errors(result) == [(2, "", "「儿童保健」已确认晋级，笔试成绩不能再导入或修改")]
    assert snapshot() == before


# --- judges -----------------------------------------------------------------------------------------

def judge_list(*rows):
    return xlsx_bytes([["评委姓名", "账号", "工作单位", "赛事"], *rows])


def test_judges_import_engages_and_updates_judges(contest):
    fourth = contest.world.person("judge4", Role.JUDGE, contest.wjw, name="评委4")
    contest.world.person("stranger", Role.STREET_OFFICER, contest.world.street_a, name="路人")
    data = judge_list(["评委4", None, "妇幼保健院", NAME],
                      ["评委1", "JUDGE1", "第二医院", NAME],   # was 第一医院
                      ["评委2", None, None, NAME])              # nothing to change
    result = run(contest, "contest-judges", data)
    assert errors(result) == []
    assert counts(result) == (1, 1, 1, 0)
    assert Judge.objects.get(user=fourth).institution == contest.hosp_c
    assert Judge.objects.get(pk=contest.judges[0].pk).institution == contest.hosp_b
    assert imported("contest.judge").count() == 2
    assert counts(run(contest, "contest-judges", data)) == (0, 0, 3, 0)
    bad = run(contest, "contest-judges", judge_list(["路人", None, None, NAME], ["评委3", "judge1", None, NAME]))
    assert errors(bad) == [(2, "姓名", "路人 没有本单位的评委账号，请先在用户管理中建立"),
                           (3, "姓名", "用户名 judge1 的姓名是评委1，与「评委3」不符")]


def test_a_judges_institution_is_fixed_once_they_have_sheets(contest):
    contest.advance_and_open()
    result = run(contest, "contest-judges", judge_list(["评委3", None, "第一医院", NAME]))
    assert errors(result) == [(2, "", "评委3 已开始评分，不能再修改所在机构（回避依据）")]
    assert Judge.objects.get(pk=contest.judges[2].pk).institution is None


# --- exports ----------------------------------------------------------------------------------------

def export(actor, kind, **filters):
    job = table_job_start(actor=actor, direction="export", kind=kind, filters=filters)
    assert job.status == "done", job.error
    return sheet_rows(job_path(job.result_file).read_bytes())


def publish(contest):
    contest.advance_and_open(chief=2)
    score_everything(contest)
    services.round_close(actor=contest.organiser, event=contest.event)
    services.results_sign(actor=contest.users[2], event=contest.event)
    services.results_sign(actor=contest.world.supervisor, event=contest.event)
    services.results_publish(actor=contest.organiser, event=contest.event)


def test_results_export_before_publication_is_for_the_organiser_and_supervisors(contest):
    contest.advance_and_open(chief=2)
    score_everything(contest)
    rows = export(contest.organiser, "contest-results", event=contest.event.pk)
    assert rows[0][:12] == ["竞赛", "项目", "名次", "编号", "姓名", "所在机构", "笔试成绩", "实操成绩", "最终成绩",
                            "操作用时（秒）", "代表本区参加市赛", "状态"]
    # before publication the rows come in draw order; 名次 is the live ranking
    assert sorted((r[2], r[4], r[8], r[10], r[11]) for r in rows[1:]) == [
        (1.0, "张敏", 92.13, "是", "暂定（未公布）"), (2.0, "王芳", 87.5, "否", "暂定（未公布）"),
        (3.0, "李娜", 80.0, "否", "暂定（未公布）")]
    assert len(export(contest.world.supervisor, "contest-results", competition=contest.competition.pk)) == 4
    assert export(contest.hosp_a_officer, "contest-results", event=contest.event.pk) == [rows[0]]
    assert export(contest.users[2], "contest-results", event=contest.event.pk) == [rows[0]]   # the chief judge


def test_published_results_export_to_the_contestants_institution(contest):
    publish(contest)
    rows = export(contest.hosp_a_officer, "contest-results", event=contest.event.pk)
    assert [(r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[10], r[11]) for r in rows[1:]] == [
        (1.0, "001", "张敏", "第一医院", 90.0, 94.25, 92.13, "是", "已公布"),
        (2.0, "003", "王芳", "妇幼保健院", 80.0, 95.0, 87.5, "否", "已公布"),
        (3.0, "002", "李娜", "第二医院", 85.0, 75.0, 80.0, "否", "已公布")]
    assert rows[1][12].startswith("算术平均：")
    assert export(contest.world.officer_a, "contest-results") == [rows[0]]   # nobody of theirs entered
    assert AuditEvent.objects.filter(action="export", object_id="contest-results").count() == 2


def test_the_audit_trail_export_holds_exactly_the_competitions_events(contest):
    publish(contest)
    other = services.competition_create(actor=contest.organiser, unit=contest.wjw, name="护理技能竞赛",
                                        starts_on=contest.competition.starts_on,
                                        ends_on=contest.competition.ends_on, venue="区人民医院")
    other_event = services.event_create(actor=contest.organiser, competition=other, name="静脉输液")
    services.contestant_add(actor=contest.organiser, competition=other, name="钱多", institution=contest.hosp_a,
                            events=[other_event])
    removed = services.item_add(actor=contest.organiser, event=other_event, title="临时项", max_points=10)
    services.item_remove(actor=contest.organiser, item=removed)
    mine = AuditEvent.objects.filter(object_type__startswith="contest.", unit_path__startswith=contest.wjw.path)
    expected = mine.count() - 5   # the other competition: itself, its event, contestant, item added and removed
    rows = export(contest.world.supervisor, "contest-audit", competition=contest.competition.pk)
    assert rows[0][:8] == ["时间", "操作人", "动作", "操作", "对象类型", "对象编号", "对象", "变更内容"]
    assert len(rows) - 1 == expected
    assert {r[4] for r in rows[1:]} == {"竞赛", "项目", "评分项", "选手", "报名/笔试", "评委", "评分表"}
    assert "护理技能竞赛" not in {r[6] for r in rows[1:]} and "临时项" not in {r[6] for r in rows[1:]}
    assert [r[3] for r in rows[1:] if r[4] == "项目" and r[3]][-1] == "publish"
    other_rows = export(contest.world.supervisor, "contest-audit", competition=other.pk)
    assert sorted(r[6] for r in other_rows[1:]) == sorted(["001 钱多", "护理技能竞赛", "临时项", "临时项", "静脉输液"])
    assert export(contest.organiser, "contest-audit", competition=contest.competition.pk) == [rows[0]]


# --- the buttons --------------------------------------------------------------------------------------

def test_results_page_and_supervision_page_export_excel(contest, client_for):
    publish(contest)
    response = client_for(contest.organiser).get(f"/contest/events/{contest.event.pk}/results/?export=xlsx")
    assert response.status_code == 200
    assert len(sheet_rows(b"".join(response.streaming_content))) == 4
    page = client_for(contest.world.supervisor).get(f"/contest/{contest.competition.pk}/supervision/")
    assert 'id="export-xlsx"' in page.content.decode()
    response = client_for(contest.world.supervisor).get(f"/contest/{contest.competition.pk}/supervision/?export=xlsx")
    assert response.status_code == 200
    rows = sheet_rows(b"".join(response.streaming_content))
    assert rows[0][0] == "时间" and len(rows) > 30
    refused = client_for(contest.organiser).get(f"/contest/{contest.competition.pk}/supervision/?export=xlsx")
    assert refused.status_code == 302
    assert 'id="export-xlsx"' not in client_for(contest.organiser).get(
        f"/contest/{contest.competition.pk}/supervision/").content.decode()
    published = client_for(contest.hosp_a_officer).get("/contest/results/?export=xlsx")
    assert len(sheet_rows(b"".join(published.streaming_content))) == 4


"""The campaign's organisation: teams and members, street offices and liaisons, trainings with
attendance counted once per person, and the Q&A log that becomes a searchable FAQ."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from govdesk.core.errors import Forbidden, NotInReach, ServiceError
from govdesk.core.models import AuditEvent
from govdesk.core.testing import assert_visible_set, assert_write_refused
from govdesk.veterans import organisation as org
from govdesk.veterans.models import Attendance, Office, Question, Team, TeamMember, Training

pytestmark = pytest.mark.django_db


@pytest.fixture
def teams(vets):
    w = vets.world
    district_team = org.team_create(actor=vets.officer, unit=w.district, kind="qa", name="政策答疑组",
                                    duty="解答采集政策问题")
    street_team = org.team_create(actor=w.officer_a, unit=w.street_a, kind="collection", name="甲街道采集组")
    return district_team, street_team


def test_teams_with_members_are_created_audited_and_read_below_the_unit_that_runs_them(vets, teams):
    w = vets.world
    district_team, street_team = teams
    member = org.team_member_add(actor=vets.officer, team=district_team, name="王建军", position="组长", leader=True)
    assert AuditEvent.objects.filter(verb="team_member", action="create", object_id=str(member.pk)).count() == 1
    with pytest.raises(ServiceError, match="已在政策答疑组中"):
        org.team_member_add(actor=vets.officer, team=district_team, name="王建军")
    # everyone in the campaign reads the district's teams; a street's team stays in its street
    assert_visible_set(Team, vets.collector_b, [district_team])
    assert_visible_set(Team, vets.collector_a, [district_team, street_team])
    assert_visible_set(Team, w.supervisor, [district_team, street_team])
    assert_visible_set(TeamMember, w.officer_b, [member])
    assert_visible_set(Team, w.outsider, [])
    # but only those who run it change it
    assert_visible_set(Team, w.officer_a, [street_team], action="change")
    assert_write_refused(lambda: org.team_member_add(actor=w.officer_a, team=district_team, name="李四"),
                         models=[TeamMember])
    assert_write_refused(lambda: org.team_member_add(actor=w.officer_b, team=street_team, name="李四"),
                         models=[TeamMember])
    assert_write_refused(lambda: org.team_member_add(actor=w.supervisor, team=district_team, name="李四"),
                         models=[TeamMember])
    with pytest.raises(NotInReach):
        org.team_create(actor=w.officer_b, unit=w.street_a, kind="qa", name="越权")
    org.team_member_remove(actor=vets.officer, member=member)
    assert not TeamMember.objects.exists()
    assert AuditEvent.objects.filter(verb="team_member", action="delete").count() == 1


def test_a_street_office_needs_a_liaison_from_that_street(vets):
    w = vets.world
    with pytest.raises(ServiceError, match="联络员应为「甲街道」的工作人员或采集员"):
        org.office_set(actor=w.officer_a, street=w.street_a, address="甲街道办事处 201 室", liaison=vets.collector_b)
    office = org.office_set(actor=w.officer_a, street=w.street_a, address="甲街道办事处 201 室",
                            office_phone="0371-6788 1234".replace(" ", ""), liaison=vets.collector_a)
    again = org.office_set(actor=vets.officer, street=w.street_a, address="甲街道办事处 202 室",
                           liaison=vets.collector_a, office_phone="0371-67881234")
    assert again.pk == office.pk and Office.objects.get().address == "甲街道办事处 202 室"
    event = AuditEvent.objects.filter(object_type="veterans.office", action="update").get()
    assert event.changes == {"address": ["甲街道办事处 201 室", "甲街道办事处 202 室"]}
    with pytest.raises(NotInReach):
        org.office_set(actor=w.officer_b, street=w.street_a, address="x", liaison=vets.collector_a)


def test_attendance_counts_each_person_once_towards_the_trained_total(vets):
    w = vets.world
    first = org.training_create(actor=vets.officer, unit=vets.department, title="采集系统操作培训",
                                held_on=date(2026, 5, 6), place="区政务中心三楼", trainer="技术指导组")
    second = org.training_create(actor=vets.officer, unit=vets.department, title="政策解读",
                                 held_on=date(2026, 5, 8), place="区政务中心三楼")
    assert org.attendance_add(actor=vets.officer, training=first, unit=w.street_a,
                              names="张三\n李四，王五、张三\n") == 3
    assert org.attendance_add(actor=vets.officer, training=first, unit=w.street_a, names=["张三", "赵六"]) == 1
    assert org.attendance_add(actor=vets.officer, training=second, unit=w.street_a, names="张三\n李四") == 2
    assert org.attendance_add(actor=vets.officer, training=second, unit=w.street_b, names="张三") == 1  # another 张三
    assert Attendance.objects.count() == 7
    assert org.trained_people(vets.officer) == 5
    assert AuditEvent.objects.filter(verb="attendance").count() == 7
    with pytest.raises(ServiceError, match="请填写参训人员姓名"):
        org.attendance_add(actor=vets.officer, training=first, unit=w.street_a, names=" \n ")
    with pytest.raises(Forbidden):  # a street officer reads the department's training but cannot sign people in
        org.attendance_add(actor=w.officer_b, training=first, unit=w.street_b, names="孙七")
    street_training = org.training_create(actor=w.officer_a, unit=w.street_a, title="街道培训",
                                          held_on=date(2026, 5, 9), place="甲街道")
    with pytest.raises(ServiceError, match="不在您的工作范围内"):
        org.attendance_add(actor=w.officer_a, training=street_training, unit=w.street_b, names="孙七")
    org.attendance_remove(actor=vets.officer, attendance=Attendance.objects.get(name="赵六"))
    assert org.trained_people(vets.officer) == 4
    assert_visible_set(Training, vets.collector_b, [first, second])  # the department's trainings, read below it


def test_questions_are_logged_answered_and_published_to_a_faq_searchable_by_pinyin_initials(vets):
    w = vets.world
    asked = timezone.now() - timedelta(hours=2)
    q1 = org.question_log(actor=vets.officer, unit=w.district, question="采集点需要带哪些材料？", asked_by="退役士兵张某（电话）",
                          asked_at=asked, topic="材料")
    q2 = org.question_log(actor=w.officer_a, unit=w.street_a, question="现役军人家属是否需要采集？",
                          asked_by="甲街道采集员", answer="需要，按现役军人家属类别采集。", publish=True)
    assert q1.answer == "" and q1.answered_by is None and q2.answered_by == w.officer_a and q2.published
    with pytest.raises(ServiceError, match="列入常见问题前请先填写解答"):
        org.question_log(actor=vets.officer, unit=w.district, question="?", asked_by="x", publish=True)
    org.question_answer(actor=vets.officer, question=q1, answer="身份证、户口簿、退伍证原件。", publish=True)
    q1.refresh_from_db()
    assert (q1.answered_by, q1.published, q1.initials[:3]) == (vets.officer, True, "cjd")
    event = AuditEvent.objects.filter(verb="answer").get()
    assert event.changes["published"] == [False, True]
    # the FAQ: words, answers and pinyin initials; within the reader's reach
    assert list(org.faq(vets.collector_a, "材料")) == [q1]
    assert list(org.faq(vets.collector_a, "退伍证")) == [q1]
    assert list(org.faq(vets.collector_a, "cjd")) == [q1]
    assert list(org.faq(vets.collector_a, "XYJR")) == [q2]
    assert set(org.faq(vets.collector_a)) == {q1, q2}
    assert list(org.faq(vets.collector_b)) == [q1]  # 乙街道 reads the district's FAQ, not 甲街道's
    assert_write_refused(lambda: org.question_answer(actor=w.supervisor, question=q1, answer="改", publish=False),
                         models=[Question], expect=(Forbidden, NotInReach))
    assert_write_refused(lambda: org.question_answer(actor=vets.collector_a, question=q1, answer="改", publish=False),
                         models=[Question], expect=(Forbidden, NotInReach))


def test_the_organisation_pages_show_and_change_through_the_services(vets, teams, client_for):
    w = vets.world
    district_team, _ = teams
    officer = client_for(vets.officer)
    response = officer.post(reverse("veterans:team_member_add", args=[district_team.pk]),
                            {"name": "刘洋", "position": "联络", "leader": "on"}, follow=True)
    body = response.content.decode()
    assert "已将「刘洋」加入政策答疑组" in body and "刘洋" in body
    response = officer.post(reverse("veterans:training_new"), {
        "unit": vets.department.pk, "title": "采集员岗前培训", "held_on": "2026-05-06", "place": "区政务中心"})
    training = Training.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("veterans:training", args=[training.pk])
    response = officer.post(reverse("veterans:training", args=[training.pk]),
                            {"unit": w.street_a.pk, "names": "张三\n李四"}, follow=True)
    assert "已登记 2 人" in response.content.decode()
    page = client_for(vets.collector_b).get(reverse("veterans:organisation")).content.decode()
    assert 'id="fig-trained">2<' in page and "政策答疑组" in page and "甲街道采集组" not in page
    assert "设立工作组" not in page
    assert client_for(vets.collector_b).post(reverse("veterans:team_member_add", args=[teams[1].pk]),
                                             {"name": "x"}).status_code == 404
    response = officer.post(reverse("veterans:questions"), {
        "unit": w.district.pk, "question": "预约后可以改期吗？", "asked_by": "群众来电", "topic": "预约",
        "answer": "可以，在预约单上改约或取消后重新预约。", "publish": "on"}, follow=True)
    assert "已登记答疑记录" in response.content.decode()
    faq = client_for(vets.collector_a).get(reverse("veterans:faq"), {"q": "yyh"}, HTTP_HX_REQUEST="true")
    assert "预约后可以改期吗" in faq.content.decode() and "<html" not in faq.content.decode()
    empty = client_for(vets.collector_a).get(reverse("veterans:faq"), {"q": "不存在的问题"}).content.decode()
    assert "没有找到相关问题" in empty
    assert client_for(w.outsider).get(reverse("veterans:question", args=[Question.objects.get().pk])).status_code == 404

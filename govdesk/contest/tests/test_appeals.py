from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from govdesk.contest import services
from govdesk.contest.models import Appeal, Event
from govdesk.core.errors import Conflict, Forbidden, NotInReach
from govdesk.core.models import AuditEvent
from govdesk.core.testing import assert_visible_set, assert_write_refused

from .test_queries import publish
from .test_services import score_everything

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(contest):
    contest.advance_and_open(chief=2)
    score_everything(contest)
    rows = publish(contest)
    contest.rows = {r.entry.contestant.name: r for r in rows}
    return contest


def test_the_contestants_institution_appeals_within_the_window(published):
    contest = published
    appeal = services.appeal_file(actor=contest.hosp_a_officer, result=contest.rows["张敏"], reason="实操计时有误")
    assert appeal.status == "pending"
    assert AuditEvent.objects.filter(verb="appeal_file", object_id=str(appeal.pk)).count() == 1
    with pytest.raises(Conflict, match="待处理"):
        services.appeal_file(actor=contest.hosp_a_officer, result=contest.rows["张敏"], reason="再次")
    assert_visible_set(Appeal, contest.hosp_a_officer, [appeal])
    assert_visible_set(Appeal, contest.world.supervisor, [appeal])
    assert_visible_set(Appeal, contest.users[0], [])
    assert_visible_set(Appeal, contest.world.supervisor, [], action="change")


def test_an_institution_cannot_appeal_another_institutions_result(published):
    contest = published
    assert_write_refused(lambda: services.appeal_file(actor=contest.hosp_a_officer, result=contest.rows["李娜"],
                                                      reason="不服"), models=[Appeal], expect=Forbidden)
    assert_write_refused(lambda: services.appeal_file(actor=contest.world.officer_a, result=contest.rows["李娜"],
                                                      reason="不服"), models=[Appeal], expect=NotInReach)


def test_the_window_closes_after_the_declared_hours(published):
    contest = published
    Event.objects.filter(pk=contest.event.pk).update(published_at=timezone.now() - timedelta(hours=25))
    row = contest.rows["张敏"]
    row.refresh_from_db()
    assert_write_refused(lambda: services.appeal_file(actor=contest.hosp_a_officer, result=row, reason="迟到"),
                         models=[Appeal], expect=Conflict)


def test_the_organiser_records_the_outcome_and_supervisors_cannot(published):
    contest = published
    appeal = services.appeal_file(actor=contest.hosp_a_officer, result=contest.rows["张敏"], reason="计时有误")
    assert_write_refused(lambda: services.appeal_decide(actor=contest.world.supervisor, appeal=appeal, upheld=True,
                                                        outcome="x"), expect=Forbidden)
    services.appeal_decide(actor=contest.organiser, appeal=appeal, upheld=False, outcome="经复看录像，计时无误")
    appeal.refresh_from_db()
    assert (appeal.status, appeal.handled_by, appeal.outcome) == ("dismissed", contest.organiser, "经复看录像，计时无误")
    with pytest.raises(Conflict):
        services.appeal_decide(actor=contest.organiser, appeal=appeal, upheld=True, outcome="改判")


def test_the_appeal_pages(published, client_for):
    contest = published
    page = client_for(contest.hosp_a_officer).get(reverse("contest:published")).content.decode()
    assert page.count("申请复核</a>") == 1   # only the institution's own contestant
    url = reverse("contest:appeal_create", args=[contest.rows["张敏"].pk])
    response = client_for(contest.hosp_a_officer).post(url, {"reason": "计时有误"})
    appeal = Appeal.objects.get()
    assert response.status_code == 302
    detail = reverse("contest:appeal", args=[appeal.pk])
    assert "记录结果" in client_for(contest.organiser).get(detail).content.decode()
    assert "记录结果" not in client_for(contest.world.supervisor).get(detail).content.decode()
    assert client_for(contest.users[0]).get(detail).status_code == 404
    client_for(contest.organiser).post(detail, {"decision": "upheld", "outcome": "复核成立，另行评定"})
    assert Appeal.objects.get().status == "upheld"

import re
from decimal import Decimal as D
from pathlib import Path

import pytest
from django.urls import reverse

from govdesk.contest import services
from govdesk.contest.models import Competition, Entry, Event, RubricItem, Sheet
from govdesk.core.models import AuditEvent, Todo
from govdesk.core.testing import assert_status_matrix

from .test_services import score_everything, submit

pytestmark = pytest.mark.django_db


def test_set_up_pages_follow_the_reach_matrix(contest, client_for):
    world = contest.world
    competition_url = reverse("contest:competition", args=[contest.competition.pk])
    event_url = reverse("contest:event", args=[contest.event.pk])
    cases = []
    for url in (competition_url, event_url, reverse("contest:supervision", args=[contest.competition.pk]),
                reverse("contest:board", args=[contest.competition.pk])):
        cases += [(contest.organiser, url, 200), (world.admin, url, 200), (world.supervisor, url, 200),
                  (world.officer_a, url, 404), (contest.users[0], url, 404), (contest.hosp_a_officer, url, 404)]
    assert_status_matrix(client_for, cases + [(world.outsider, reverse("contest:dashboard"), 200)])


def test_the_organiser_creates_a_competition_through_the_form(contest, client_for):
    client = client_for(contest.organiser)
    response = client.post(reverse("contest:competition_create"), {
        "unit": contest.wjw.pk, "name": "第二届竞赛", "starts_on": "2026-09-01", "ends_on": "2026-08-01",
        "venue": "区卫健委", "board_mode": "hidden", "appeal_hours": "48"})
    assert response.status_code == 200 and "不能早于开始日期" in response.content.decode()
    response = client.post(reverse("contest:competition_create"), {
        "unit": contest.wjw.pk, "name": "第二届竞赛", "starts_on": "2026-09-01", "ends_on": "2026-09-02",
        "venue": "区卫健委", "board_mode": "hidden", "show_codes": "on", "appeal_hours": "48"})
    competition = Competition.objects.get(name="第二届竞赛")
    assert response.status_code == 302 and competition.org_unit == contest.wjw and competition.show_codes
    assert competition.appeal_hours == 48


def test_a_supervisor_posting_a_set_up_form_is_refused(contest, client_for):
    response = client_for(contest.world.supervisor).post(
        reverse("contest:item_create", args=[contest.event.pk]),
        {"title": "多余项", "part": "operation", "max_points": "5", "step": "1"})
    assert response.status_code == 302
    assert not RubricItem.objects.filter(title="多余项").exists()
    response = client_for(contest.world.officer_a).post(
        reverse("contest:item_create", args=[contest.event.pk]),
        {"title": "多余项", "part": "operation", "max_points": "5", "step": "1"})
    assert response.status_code == 404


def test_written_scores_then_the_advancement_preview_then_confirmation(contest, client_for):
    client = client_for(contest.organiser)
    entries = list(contest.event.entries.order_by("contestant__code"))
    data = {}
    for entry, score, part in zip(entries, ["90", "85", "80", "80"], ["40", "30", "35", "38"], strict=True):
        data[f"score_{entry.pk}"], data[f"part_{entry.pk}"] = score, part
    services.event_update(actor=contest.organiser, event=contest.event, tie_rule="break")
    response = client.post(reverse("contest:written", args=[contest.event.pk]), data)
    assert response.status_code == 302
    page = client.get(reverse("contest:advance", args=[contest.event.pk])).content.decode()
    assert "晋级线并列" in page and "确认晋级名单（3 人）" in page
    response = client.post(reverse("contest:advance", args=[contest.event.pk]),
                           {"advancing": [entries[0].pk, entries[1].pk, entries[3].pk]})
    assert response.status_code == 302
    assert set(Entry.objects.filter(advanced=True).values_list("contestant__name", flat=True)) == {
        "张敏", "李娜", "赵丽"}


def test_a_judge_scores_on_the_sheet_page_and_it_locks(contest, client_for):
    contest.advance_and_open()
    sheet = contest.sheet(0, 2)
    client = client_for(contest.users[0])
    page = client.get(reverse("contest:sheet", args=[sheet.pk])).content.decode()
    assert "data-timer" in page and "contest/contest.js" in page and "王芳" not in page and "003" in page
    data = {f"item_{i.pk}": str(i.max_points) for i in contest.items}
    data[f"item_{contest.items[3].pk}"] = ""
    data["seconds_used"] = "700"
    response = client.post(reverse("contest:sheet", args=[sheet.pk]), data)
    assert response.status_code == 200 and "提问答辩：请评分" in response.content.decode()
    data[f"item_{contest.items[3].pk}"] = "15"
    response = client.post(reverse("contest:sheet", args=[sheet.pk]), data)
    assert response.status_code == 302
    sheet.refresh_from_db()
    assert (sheet.status, sheet.total, sheet.seconds_used) == ("submitted", D("91.00"), 700)  # 95 less 2 started minutes × 2
    assert not Todo.objects.filter(user=contest.users[0], source_id=str(sheet.pk), done_at=None).exists()
    data[f"item_{contest.items[3].pk}"] = "20"
    client.post(reverse("contest:sheet", args=[sheet.pk]), data)
    assert Sheet.objects.get(pk=sheet.pk).total == D("91.00")


def test_judges_do_not_reach_each_others_sheets(contest, client_for):
    contest.advance_and_open()
    sheet = contest.sheet(0, 2)
    url = reverse("contest:sheet", args=[sheet.pk])
    assert_status_matrix(client_for, [
        (contest.users[0], url, 200), (contest.users[1], url, 404), (contest.world.supervisor, url, 200),
        (contest.hosp_a_officer, url, 404), (contest.world.officer_a, url, 404)])
    data = {f"item_{i.pk}": str(i.max_points) for i in contest.items} | {"seconds_used": "500"}
    client_for(contest.world.supervisor).post(url, data)
    assert client_for(contest.users[1]).post(url, data).status_code == 404
    assert Sheet.objects.get(pk=sheet.pk).status == "open"


def test_the_supervision_page_lists_every_sheet(contest, client_for):
    contest.advance_and_open()
    submit(contest, 1, 0)
    body = client_for(contest.world.supervisor).get(
        reverse("contest:supervision", args=[contest.competition.pk])).content.decode()
    assert body.count('href="/contest/sheets/') == 7 and "张敏" in body


def test_the_board_polls_and_returns_only_its_fragment_to_htmx(contest, client_for):
    contest.advance_and_open()
    client = client_for(contest.organiser)
    url = reverse("contest:board", args=[contest.competition.pk])
    page = client.get(url).content.decode()
    assert 'hx-trigger="every 5s"' in page and "<html" in page
    assert "0/2" in page or "0/3" in page
    submit(contest, 1, 0)
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and 'data-progress="001">1/2' in fragment


def test_results_publish_through_the_pages_after_both_sign_offs(contest, client_for):
    contest.advance_and_open(chief=2)
    score_everything(contest)
    url = reverse("contest:results", args=[contest.event.pk])
    organiser = client_for(contest.organiser)
    organiser.post(reverse("contest:round_close", args=[contest.event.pk]))
    organiser.post(reverse("contest:publish", args=[contest.event.pk]))
    assert Event.objects.get(pk=contest.event.pk).status == "closed"
    chief_page = client_for(contest.users[2]).get(url).content.decode()
    assert "签字确认成绩" in chief_page and "张敏" not in chief_page   # judges see codes only
    client_for(contest.users[2]).post(reverse("contest:sign", args=[contest.event.pk]))
    client_for(contest.world.supervisor).post(reverse("contest:sign", args=[contest.event.pk]))
    organiser.post(reverse("contest:publish", args=[contest.event.pk]))
    assert Event.objects.get(pk=contest.event.pk).status == "published"
    assert AuditEvent.objects.filter(verb="publish").count() == 1
    page = client_for(contest.hosp_a_officer).get(reverse("contest:published")).content.decode()
    assert "张敏" in page and "92.13" in page and "代表本区参加市赛" in page
    assert client_for(contest.hosp_a_officer).get(url).status_code == 404


def test_a_correction_goes_through_its_page(contest, client_for):
    contest.advance_and_open(chief=2)
    sheet = submit(contest, 0, 2, **{"操作流程": "55"})
    data = {f"item_{i.pk}": str(i.max_points) for i in contest.items} | {"seconds_used": "600", "reason": "误录"}
    response = client_for(contest.users[0]).post(reverse("contest:correction_create", args=[sheet.pk]), data)
    correction = sheet.corrections.get()
    assert response.status_code == 302
    url = reverse("contest:correction", args=[correction.pk])
    assert "同意更正" in client_for(contest.users[2]).get(url).content.decode()
    assert "同意更正" not in client_for(contest.users[0]).get(url).content.decode()
    client_for(contest.users[2]).post(url, {"decision": "approve"})
    client_for(contest.world.supervisor).post(url, {"decision": "approve"})
    assert Sheet.objects.get(pk=sheet.pk).total == D("100.00")


def test_templates_carry_no_inline_script():
    folder = Path(__file__).resolve().parent.parent / "templates"
    for template in folder.rglob("*.html"):
        for tag in re.findall(r"<script[^>]*>", template.read_text(encoding="utf-8")):
            assert "src=" in tag, f"inline script in {template.name}"


def test_every_page_renders_for_the_people_who_use_it(contest, client_for):
    contest.advance_and_open(chief=2)
    sheet = submit(contest, 0, 2)
    competition, event = contest.competition.pk, contest.event.pk
    organiser_pages = [reverse("contest:dashboard"), reverse("contest:competition_create"),
                       reverse("contest:competition_edit", args=[competition]),
                       reverse("contest:event_create", args=[competition]),
                       reverse("contest:contestant_create", args=[competition]),
                       reverse("contest:judge_create", args=[competition]),
                       reverse("contest:event_edit", args=[event]), reverse("contest:written", args=[event]),
                       reverse("contest:advance", args=[event]), reverse("contest:panel", args=[event]),
                       reverse("contest:results", args=[event])]
    judge_pages = [reverse("contest:dashboard"), reverse("contest:my_sheets"),
                   reverse("contest:correction_create", args=[sheet.pk])]
    assert_status_matrix(client_for, [(contest.organiser, url, 200) for url in organiser_pages]
                         + [(contest.users[0], url, 200) for url in judge_pages]
                         + [(contest.hosp_a_officer, reverse("contest:published"), 200),
                            (contest.users[1], reverse("contest:correction_create", args=[sheet.pk]), 404)])
    dashboard = client_for(contest.users[0]).get(reverse("contest:dashboard")).content.decode()
    assert "1 份待评" in dashboard


def test_the_judge_form_offers_only_people_with_the_judge_role(contest, client_for):
    page = client_for(contest.organiser).get(
        reverse("contest:judge_create", args=[contest.competition.pk])).content.decode()
    select = page[page.index('name="user"'):]
    options = re.findall(r"<option value=\"\d+\">([^<]+)</option>", select[:select.index("</select>")])
    assert options == ["评委1（judge1）", "评委2（judge2）", "评委3（judge3）"]


def test_the_event_page_names_each_recusal(contest, client_for):
    contest.advance_and_open()
    page = client_for(contest.organiser).get(reverse("contest:event", args=[contest.event.pk])).content.decode()
    assert "评委1 回避选手 001（同为第一医院）" in page and "评委2 回避选手 002（同为第二医院）" in page


def test_supervisors_watch_sheets_and_changes_live(contest, client_for):
    contest.advance_and_open()
    submit(contest, 1, 0)
    url = reverse("contest:supervision", args=[contest.competition.pk])
    fragment = client_for(contest.world.supervisor).get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and 'hx-trigger="every 10s"' in fragment
    assert "最近的操作记录" in fragment and "submit" in fragment
    assert "最近的操作记录" not in client_for(contest.organiser).get(url).content.decode()


def test_certificates_print_only_after_publication(contest, client_for):
    contest.advance_and_open(chief=2)
    score_everything(contest)
    url = reverse("contest:certificates", args=[contest.event.pk])
    assert client_for(contest.organiser).get(url).status_code == 302
    services.round_close(actor=contest.organiser, event=contest.event)
    services.results_sign(actor=contest.users[2], event=contest.event)
    services.results_sign(actor=contest.world.supervisor, event=contest.event)
    services.results_publish(actor=contest.organiser, event=contest.event)
    page = client_for(contest.organiser).get(url).content.decode()
    assert page.count('class="gd-certificate"') == 3 and "荣获第 1 名，代表本区参加市级竞赛" in page
    assert client_for(contest.hosp_a_officer).get(url).status_code == 404


def test_busy_pages_keep_a_bounded_number_of_queries(contest, client_for, django_assert_max_num_queries):
    contest.advance_and_open(chief=2)
    score_everything(contest)
    supervisor = client_for(contest.world.supervisor)
    organiser = client_for(contest.organiser)
    judge = client_for(contest.users[0])
    with django_assert_max_num_queries(30):
        supervisor.get(reverse("contest:supervision", args=[contest.competition.pk]))
    with django_assert_max_num_queries(25):
        organiser.get(reverse("contest:results", args=[contest.event.pk]))
    with django_assert_max_num_queries(20):
        organiser.get(reverse("contest:board", args=[contest.competition.pk]))
    with django_assert_max_num_queries(15):
        judge.get(reverse("contest:my_sheets"))


def test_the_results_page_shows_the_working(contest, client_for):
    services.event_update(actor=contest.organiser, event=contest.event, method="median")
    contest.advance_and_open(chief=2)
    score_everything(contest)
    page = client_for(contest.organiser).get(reverse("contest:results", args=[contest.event.pk])).content.decode()
    assert "取中位数 88.50、100.00" in page and "最终 = 90.00×0.50 + 94.25×0.50" in page
    assert "(超时-4.00)" in page and "(否决)" in page and "92.13" in page
    assert "缺表报告" not in page and "评分表已全部提交" in page


def test_a_judge_sees_the_panels_other_sheets_only_after_the_round_closes(contest, client_for):
    contest.advance_and_open(chief=2)
    score_everything(contest)
    url = reverse("contest:my_sheets")
    other = contest.sheet(1, 2)
    assert "本组其他评委的评分表" not in client_for(contest.users[0]).get(url).content.decode()
    assert client_for(contest.users[0]).get(reverse("contest:sheet", args=[other.pk])).status_code == 404
    services.round_close(actor=contest.organiser, event=contest.event)
    page = client_for(contest.users[0]).get(url).content.decode()
    assert "本组其他评委的评分表" in page and page.count('<td><a href="/contest/sheets/') == 5
    sheet_page = client_for(contest.users[0]).get(reverse("contest:sheet", args=[other.pk])).content.decode()
    assert "提交评分" not in sheet_page and "申请更正" not in sheet_page


def test_the_organiser_enters_a_contestant_in_another_event_through_the_form(contest, client_for):
    other = services.event_create(actor=contest.organiser, competition=contest.competition, name="计划生育技术服务")
    url = reverse("contest:contestant_enter", args=[contest.contestants[0].pk])
    assert client_for(contest.world.officer_a).get(url).status_code == 404
    response = client_for(contest.organiser).post(url, {"event": other.pk})
    assert response.status_code == 302
    assert Entry.objects.filter(event=other, contestant=contest.contestants[0]).exists()

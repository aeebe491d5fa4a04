import pytest
from playwright.sync_api import expect

from govdesk.conftest import PASSWORD, build_world
from govdesk.contest import services
from govdesk.contest.models import Event, Sheet
from govdesk.contest.tests.conftest import build_contest

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def score_on_the_tablet(page, contest, code, operation_points):
    page.goto("/contest/sheets/")
    page.get_by_role("link", name=f"选手 {code}").click()
    expect(page.get_by_role("heading", name=f"儿童保健 · 选手 {code}")).to_be_visible()
    for item in contest.items:
        value = operation_points if item.title == "操作流程" else str(item.max_points)
        page.get_by_label(item.title, exact=True).fill(value)
    expect(page.locator("[data-score-progress]")).to_contain_text("已评 4 / 4 项")
    page.get_by_role("button", name="开始计时").click()
    page.wait_for_timeout(1300)
    page.get_by_role("button", name="停止").click()
    expect(page.locator("#seconds-used")).not_to_have_value("")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="提交评分").click()
    expect(page.get_by_text(f"已提交选手 {code} 的评分表")).to_be_visible()


def test_two_judges_score_the_board_updates_and_the_results_publish(new_page):
    world = build_world()
    contest = build_contest(world)
    contest.advance_and_open(chief=2)

    board = new_page()
    login(board, "weijian", PASSWORD)
    board.goto(f"/contest/{contest.competition.pk}/board/")
    progress = board.locator('[data-progress="003"]')
    expect(progress).to_have_text("0/3")

    judge1, judge2 = new_page(), new_page()
    login(judge1, "judge1", PASSWORD)
    login(judge2, "judge2", PASSWORD)
    score_on_the_tablet(judge1, contest, "003", "55")
    score_on_the_tablet(judge2, contest, "003", "58")
    expect(progress).to_have_text("2/3", timeout=15000)   # htmx polls every 5 s

    # the other sheets are handed in; the chief judge scores last
    for sheet in Sheet.objects.filter(event=contest.event, status="open").exclude(
            judge=contest.judges[2], entry__contestant__code="003").select_related("judge__user"):
        services.sheet_submit(actor=sheet.judge.user, sheet=sheet, points=contest.full_marks(), seconds_used=590)
    chief = new_page()
    login(chief, "judge3", PASSWORD)
    score_on_the_tablet(chief, contest, "003", "60")
    expect(progress).to_have_text("3/3 ✓", timeout=15000)

    organiser = new_page()
    login(organiser, "weijian", PASSWORD)
    organiser.goto(f"/contest/events/{contest.event.pk}/results/")
    organiser.once("dialog", lambda dialog: dialog.accept())
    organiser.get_by_role("button", name="结束评分").click()
    expect(organiser.get_by_role("alert")).to_contain_text("评分已结束")
    expect(organiser.get_by_role("button", name="公布成绩")).to_be_disabled()

    chief.goto(f"/contest/events/{contest.event.pk}/results/")
    chief.once("dialog", lambda dialog: dialog.accept())
    chief.get_by_role("button", name="签字确认成绩").click()
    expect(chief.get_by_role("alert")).to_have_text("已签字确认成绩")

    supervisor = new_page()
    login(supervisor, "supervisor", PASSWORD)
    supervisor.goto(f"/contest/events/{contest.event.pk}/results/")
    supervisor.once("dialog", lambda dialog: dialog.accept())
    supervisor.get_by_role("button", name="签字确认成绩").click()
    expect(supervisor.get_by_role("alert")).to_have_text("已签字确认成绩")

    organiser.reload()
    organiser.once("dialog", lambda dialog: dialog.accept())
    organiser.get_by_role("button", name="公布成绩").click()
    expect(organiser.get_by_role("alert")).to_have_text("成绩已公布")
    assert Event.objects.get(pk=contest.event.pk).status == "published"
    expect(board.get_by_text("成绩已公布")).to_be_visible(timeout=15000)
    expect(board.locator(".gd-winner")).to_contain_text("张敏")

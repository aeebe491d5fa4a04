import pytest
from playwright.sync_api import expect

from govdesk.conftest import PASSWORD, build_world

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_street_officer_sees_only_their_street_and_logs_out(new_page):
    build_world()
    page = new_page()
    login(page, "officer_a", PASSWORD)
    expect(page.get_by_role("heading", name="区情总览")).to_be_visible()
    # the overview draws its charts (ECharts renders into a canvas)
    expect(page.locator("[data-chart=chart-units] canvas")).to_have_count(1)
    page.get_by_role("link", name="组织机构").click()
    expect(page.get_by_role("link", name="甲街道")).to_be_visible()
    expect(page.get_by_text("乙街道")).to_have_count(0)
    page.fill("#unit-q", "社区")
    expect(page.get_by_role("link", name="甲一社区")).to_be_visible()
    expect(page.get_by_text("乙一社区")).to_have_count(0)
    page.goto("/units/")
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("您已安全退出")).to_be_visible()
    page.goto("/units/")
    expect(page.locator("#id_username")).to_be_visible()


def test_a_failed_login_shows_a_clear_message(new_page):
    build_world()
    page = new_page()
    login(page, "officer_a", "wrong-password")
    expect(page.locator("#login-error")).to_have_text("用户名或密码不正确")


def test_an_admin_adds_and_retires_a_unit_with_confirmation(new_page):
    world = build_world()
    page = new_page()
    login(page, "admin", PASSWORD)
    page.goto(f"/units/{world.street_a.pk}/")
    page.get_by_role("link", name="新增社区").click()
    page.fill("#id_code", "E2E-1")
    page.fill("#id_name", "浏览器社区")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已新增「浏览器社区」")).to_be_visible()
    page.get_by_role("link", name="浏览器社区").click()
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="撤销").click()
    expect(page.locator(".badge", has_text="已撤销")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="撤销").click()
    expect(page.get_by_text("已撤销「浏览器社区」")).to_be_visible()

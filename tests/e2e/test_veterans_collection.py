"""A collection day in the browser: book, check in, collect with a scanned document, submit,
return with a reason, fix, archive — and the progress board moves."""

from datetime import time

import pytest
from playwright.sync_api import expect
from stdnum.cn import ric

from govdesk.conftest import PASSWORD, build_world
from govdesk.core import services as core_services
from govdesk.core.reach import Role
from govdesk.veterans import services

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 200


def _id_number():
    body = "41010019750301003"  # 郑州市, born 1975-03-01, a man
    return body + ric.calc_check_digit(body + "0")


def ensure_categories():
    """Transactional tests flush every table, data migrations' rows included: seed them again."""
    import importlib

    from django.apps import apps
    importlib.import_module("govdesk.veterans.migrations.0002_seed_categories").seed(apps, None)


def logout(page):
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_text("您已安全退出")).to_be_visible()


def test_a_person_is_booked_checked_in_collected_returned_fixed_and_archived(new_page, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ensure_categories()
    world = build_world()
    world.person("caiji_a", Role.COLLECTOR, world.street_a, name="甲街道采集员")
    department = core_services.orgunit_create(actor=world.root, parent=world.district, kind="department",
                                              code="T100-D9", name="退役军人事务局")
    tuiyi = world.person("tuiyi", Role.DEPARTMENT_OFFICER, department)
    services.expected_set(actor=tuiyi, street=world.street_a, expected=10)
    services.point_create(actor=world.officer_a, unit=world.community_a, name="甲一社区采集点", address="建设路 1 号",
                          opens_at=time(8, 0), closes_at=time(12, 0), daily_capacity=8, slot_minutes=60, open_days=2)
    number = _id_number()

    page = new_page()
    login(page, "caiji_a", PASSWORD)
    page.locator("#gd-menu").get_by_role("link", name="退役军人信息采集").click()
    expect(page.locator("#fig-collected")).to_have_text("0")
    page.get_by_role("link", name="采集点与预约").click()
    page.get_by_role("link", name="甲一社区采集点").click()
    page.locator("a.slot").first.click()
    page.fill("#id_name", "张建国")
    page.fill("#id_id_number", number)
    page.fill("#id_phone", "13812345678")
    page.get_by_role("button", name="预约").click()
    expect(page.get_by_text("预约成功")).to_be_visible()
    expect(page.locator(".gd-qr svg")).to_have_count(1)
    code = page.locator("#appointment-code").inner_text()

    # at the point: the collector scans the slip's code, checks the person in and collects
    page.get_by_role("link", name="签到", exact=True).click()
    page.fill("#id_code", f"GDVA:{code}")
    page.get_by_role("button", name="查找预约").click()
    page.get_by_role("button", name="签到并开始采集").click()
    expect(page.locator("#id_name")).to_have_value("张建国")
    expect(page.locator("#id_id_number")).to_have_value(number)
    page.select_option("#id_gender", "男")
    page.select_option("#id_category", "tuiyishibing")
    page.select_option("#id_community", label="甲街道 / 甲一社区")
    page.fill("#id_household_address", "郑州市中原区建设路 1 号")
    page.fill("#id_residential_address", "郑州市中原区建设路 1 号")
    page.fill("#id_enlisted_on", "1993-03-01")
    page.fill("#id_discharged_on", "1992-12-01")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".field-error")).to_have_text("退役时间应晚于入伍时间")
    page.fill("#id_discharged_on", "1997-12-01")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存「张建国」的采集信息")).to_be_visible()
    expect(page.locator("#id-masked")).to_have_text(number[:6] + "********" + number[-4:])
    page.select_option("#id_kind", "id_card")
    page.set_input_files("#id_file", files=[{"name": "身份证.jpg", "mimeType": "image/jpeg", "buffer": JPEG}])
    page.get_by_role("button", name="上传").click()
    expect(page.locator("#attachments")).to_contain_text("身份证扫描件")
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator("#record-status")).to_have_text("已采集待审核")
    record_url = page.url
    logout(page)

    # the street officer returns it with a reason
    login(page, "officer_a", PASSWORD)
    page.goto(record_url)
    page.fill("#return-reason-input", "退伍时间与退伍证不符")
    page.get_by_role("button", name="退回").click()
    expect(page.locator("#record-status")).to_have_text("已退回")
    logout(page)

    # the collector finds it in the inbox, fixes and resubmits
    login(page, "caiji_a", PASSWORD)
    expect(page.locator("#todo-count")).to_have_text("1")
    page.get_by_role("link", name="我的待办").click()
    page.get_by_role("link", name="退回待修改：张建国（退伍时间与退伍证不符）").click()
    expect(page.locator("#return-reason")).to_contain_text("退伍时间与退伍证不符")
    page.get_by_role("link", name="修改", exact=True).click()
    page.fill("#id_discharged_on", "1996-12-01")
    page.get_by_role("button", name="保存").click()
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator("#record-status")).to_have_text("已采集待审核")
    expect(page.locator("#todo-count")).to_have_text("0")
    logout(page)

    # reviewed and archived; the progress board moves
    login(page, "officer_a", PASSWORD)
    page.goto(record_url)
    page.get_by_role("button", name="审核通过").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="归档").click()
    expect(page.locator("#record-status")).to_have_text("已归档")
    page.get_by_role("link", name="采集进度").click()
    expect(page.locator("#fig-collected")).to_have_text("1")
    expect(page.locator("#fig-archived")).to_have_text("1")
    expect(page.locator("#street-progress")).to_contain_text("10.0%")
    expect(page.locator("[data-chart=chart-streets] canvas")).to_have_count(1)
